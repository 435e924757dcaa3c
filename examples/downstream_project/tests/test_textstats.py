"""textstats' tests: the real actor images, run by abaco-emulator's fixtures (no conftest).

Run with `pytest` in this directory; `ACTOR_BASE_IMAGE=abaco-emulator/python:test pytest`
builds the actors on a local image instead of python:3.11-slim (nothing is pulled).
"""
import os

import pytest

import images
import textstats

# Skipped, with the reason, on a machine where no Docker engine answers.
pytestmark = pytest.mark.docker

TEXTS = ["The cat and the hat.", "Hello, hello!"]


@pytest.fixture(scope="session")
def actor_images():
    """Build the actor images once per session, from actors/Dockerfile."""
    return images.build(base=os.environ.get("ACTOR_BASE_IMAGE", images.DEFAULT_BASE))


def test_word_counts_come_back_as_results(abaco, actor_images):
    # `abaco` is an in-process emulator: agavepy's ag.actors.*, each message a container.
    actor_id = textstats.register(abaco, actor_images["wordcount"], name="words")
    assert textstats.count_words(abaco, actor_id, TEXTS) == [
        {"and": 1, "cat": 1, "hat": 1, "the": 2},
        {"hello": 2},
    ]


@pytest.fixture(params=["in process", "agavepy over HTTP"])
def ag(request, abaco_server):
    """The same served emulator reached two ways. It is served because the counter
    actor calls back over HTTP (update_state) from inside its container."""
    if request.param == "in process":
        return abaco_server.emulator
    return request.getfixturevalue("agave")  # a real agavepy client bound to abaco_server


def test_counter_keeps_its_state_between_messages(ag, actor_images):
    actor_id = textstats.register(ag, actor_images["counter"], name="counter", stateful=True)
    assert textstats.tally(ag, actor_id, ["a", "b", "c"]) == {"count": 3, "last": "c"}


def test_a_failing_actor_is_reported_with_its_logs(ag, actor_images):
    # Registered stateless by mistake: the counter's update_state gets a 404, the actor
    # exits 1 (Abaco still says COMPLETE), and the error carries the traceback it printed.
    actor_id = textstats.register(ag, actor_images["counter"], name="stateless-counter")
    with pytest.raises(textstats.ActorFailed, match=r"(?s)exit code 1.*404 Client Error.*/state"):
        textstats.tally(ag, actor_id, ["a"])


def test_the_report_is_the_same_in_process_and_over_http(abaco_server, agave, actor_images):
    in_process = textstats.report(abaco_server.emulator, actor_images["wordcount"], actor_images["counter"], TEXTS)
    over_http = textstats.report(agave, actor_images["wordcount"], actor_images["counter"], TEXTS)
    assert in_process == over_http == {
        "counts": [{"and": 1, "cat": 1, "hat": 1, "the": 2}, {"hello": 2}],
        "state": {"count": 2, "last": "Hello, hello!"},
    }
