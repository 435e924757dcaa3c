"""textstats' orchestration tested without Docker: the local runner with stand-in actors.

This module overrides the plugin's `abaco_options` fixture to pick the local runner, so
these tests run on any machine (CI without a Docker engine, a laptop on a train). Each
actor image is registered as a Python handler standing in for it: the handler does what
the image's script does, with the context the local runner gives (`ctx`). What is tested
here is textstats' own code: registering, sending, polling, reading results and state.
"""
import json
import threading

import pytest

import textstats

WORDCOUNT, COUNTER = "textstats/wordcount:dev", "textstats/counter:dev"
TEXTS = ["The cat and the hat.", "Hello, hello!"]


@pytest.fixture
def abaco_options(abaco_options):
    """The plugin's options (ini keys, command line), with the local runner instead of Docker."""
    return {**abaco_options, "runner": "local"}


@pytest.fixture
def stand_ins(abaco):
    """Register a handler for each actor image; the images' scripts, minus agavepy."""
    from wordcount import count_words  # actors/wordcount.py: the function the image runs

    def wordcount(ctx):
        # A returned str/bytes is one result, as send_bytes_result() sends in the image.
        return json.dumps(count_words(ctx.raw_message), sort_keys=True)

    def counter(ctx):
        # The image reads its state with getState; so does this stand-in, then writes it
        # with ctx.update_state (refused when the actor is not stateful, as in the image).
        state = abaco.actors.getState(actorId=ctx.actor_id).state or {}
        ctx.update_state({"count": state.get("count", 0) + 1, "last": ctx.raw_message})

    abaco.register_image(WORDCOUNT, wordcount)
    abaco.register_image(COUNTER, counter)


def test_report_counts_words_and_tallies_messages(abaco, stand_ins):
    assert textstats.report(abaco, WORDCOUNT, COUNTER, TEXTS) == {
        "counts": [{"and": 1, "cat": 1, "hat": 1, "the": 2}, {"hello": 2}],
        "state": {"count": 2, "last": "Hello, hello!"},
    }
    assert abaco.actors.list() == []  # report() deletes the actors it registered


def test_a_failing_stand_in_is_reported_with_its_traceback(abaco, stand_ins):
    actor_id = textstats.register(abaco, COUNTER, name="stateless-counter")  # not stateful
    # As on Abaco, reading the state of a stateless actor works; writing it is refused.
    with pytest.raises(textstats.ActorFailed, match=r"(?s)exit code 1.*actor is stateless"):
        textstats.tally(abaco, actor_id, ["a"])


def test_waiting_gives_up_after_the_timeout(abaco):
    release = threading.Event()
    abaco.register_image("textstats/stuck:dev", lambda ctx: release.wait(30))
    actor_id = textstats.register(abaco, "textstats/stuck:dev", name="stuck")
    [execution_id] = textstats.send_all(abaco, actor_id, ["x"])
    try:
        with pytest.raises(TimeoutError, match="still (SUBMITTED|RUNNING)"):
            textstats.wait_for_execution(abaco, actor_id, execution_id, timeout=0.2, interval=0.05)
    finally:
        release.set()
    assert textstats.wait_for_execution(abaco, actor_id, execution_id).status == "COMPLETE"
