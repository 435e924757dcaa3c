"""Actor containers call back to the emulator through agavepy, unchanged.

An actor built for the real Abaco uses `agavepy.actors.get_client()` / `update_state()`
with `_abaco_api_server` and `_abaco_access_token`. agavepy 0.9.5 alone cannot reach a
plain-HTTP server on a port; the Docker runner mounts a `sitecustomize` that patches it
when the actor imports it, so the actor's code needs no change.
"""
from __future__ import annotations

import textwrap

import pytest

from abaco_emulator.server import serve

pytestmark = pytest.mark.docker

PYTHON = "abaco-emulator/python:test"


@pytest.fixture
def server(python_image):
    with serve(runner="docker", max_run_time=60, allow_mounts=True) as running:
        yield running
        running.emulator.raise_background_errors()


@pytest.fixture
def python_image():
    import docker

    client = docker.from_env()
    try:
        client.images.get(PYTHON)
    except Exception as exc:
        pytest.skip(f"{PYTHON} is not built ({exc}): run fixtures/build_images.sh")
    finally:
        client.close()
    return PYTHON


def python_actor(ag, code: str, **body):
    env = dict(body.pop("defaultEnvironment", {}), PY_SCRIPT=textwrap.dedent(code))
    return ag.actors.add(body={"image": PYTHON, "defaultEnvironment": env, **body})


def logs_of(ag, actor_id, execution_id) -> str:
    return ag.actors.getExecutionLogs(actorId=actor_id, executionId=execution_id).logs


def test_stateful_actor_counts_with_agavepy_update_state(server):
    ag = server.emulator
    counter = python_actor(ag, """
        from agavepy.actors import get_client, get_context, update_state
        context = get_context()
        state = get_client().actors.getState(actorId=context["actor_id"]).state or {}
        update_state({"count": state.get("count", 0) + 1})
        print("counted")
    """, stateless=False)
    for _ in range(3):
        sent = ag.actors.sendMessage(actorId=counter.id, body={"message": "tick"})
        done = ag.wait_for_execution(counter.id, sent.executionId, timeout=60)
        assert done.exitCode == 0, logs_of(ag, counter.id, done.id)
        assert logs_of(ag, counter.id, done.id) == "counted\n"
    assert ag.actors.getState(actorId=counter.id).state == {"count": 3}


def test_actor_messages_a_second_actor_with_its_own_token(server):
    ag = server.emulator
    target = python_actor(ag, """
        from agavepy.actors import get_context
        print("target got", get_context()["raw_message"])
    """)
    sender = python_actor(ag, """
        import os
        from agavepy.actors import get_client
        sent = get_client().actors.sendMessage(actorId=os.environ["TARGET"], body={"message": "relayed"})
        print("sent", sent.executionId)
    """, defaultEnvironment={"TARGET": target.id})
    sent = ag.actors.sendMessage(actorId=sender.id, body={"message": "go"})
    done = ag.wait_for_execution(sender.id, sent.executionId, timeout=60)
    text = logs_of(ag, sender.id, done.id)
    assert done.exitCode == 0, text
    relayed = text.split()[1]
    finished = ag.wait_for_execution(target.id, relayed, timeout=60)
    assert logs_of(ag, target.id, finished.id) == "target got relayed\n"
    assert finished.executor == ag.user


def test_the_patch_keeps_the_images_own_pythonpath_and_sitecustomize(server, tmp_path):
    ag = server.emulator
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "sitecustomize.py").write_text("import os\nos.environ['IMAGE_SITE'] = 'ran'\n")
    (tmp_path / "extra" / "helper_module.py").write_text("VALUE = 42\n")
    actor = python_actor(ag, """
        import os, sys
        import helper_module
        print(os.environ["PYTHONPATH"], helper_module.VALUE, os.environ.get("IMAGE_SITE"))
    """, defaultEnvironment={"PYTHONPATH": "/extra"},
        mounts=[{"hostPath": str(tmp_path / "extra"), "containerPath": "/extra", "mode": "ro"}])
    sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "m"})
    done = ag.wait_for_execution(actor.id, sent.executionId, timeout=60)
    assert logs_of(ag, actor.id, done.id) == "/_abaco_emulator:/extra 42 ran\n"
