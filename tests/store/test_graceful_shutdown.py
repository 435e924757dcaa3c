"""A graceful stop keeps what a crash keeps: `close()` refuses new messages, lets running
executions finish within `shutdown_grace`, and leaves the ones it had to stop to run
again at the next start, never recorded as if they had run."""
from __future__ import annotations

import threading
import time

import pytest
import requests

from abaco_emulator import AbacoEmulator, serve

SLOW = "slow:1"


def slow_emulator(db_path, runs, seconds, release=None, **options):
    """An emulator whose SLOW actor takes `seconds` (or until `release` is set)."""
    emulator = AbacoEmulator(db_path=str(db_path), runner="local", **options)
    release = release or threading.Event()

    def handler(context):
        runs.append(context.execution_id)
        release.wait(seconds)
        print("done")

    emulator.register_image(SLOW, handler)
    return emulator


def wait_running(emulator, actor_id, execution_id, timeout=10):
    deadline = time.monotonic() + timeout
    while emulator.actors.getExecution(actorId=actor_id, executionId=execution_id).status != "RUNNING":
        assert time.monotonic() < deadline, "the execution never started"
        time.sleep(0.01)


def test_an_execution_stopped_by_close_runs_again_at_the_next_start(tmp_path):
    db, runs, release = tmp_path / "abaco.json", [], threading.Event()
    emulator = slow_emulator(db, runs, seconds=30, release=release, shutdown_grace=0.2)
    actor = emulator.actors.add(body={"image": SLOW})
    sent = emulator.actors.sendMessage(actorId=actor.id, body={"message": "long"})
    queued = emulator.actors.sendMessage(actorId=actor.id, body={"message": "behind it"})
    wait_running(emulator, actor.id, sent.executionId)
    begin = time.monotonic()
    emulator.close()
    release.set()  # the abandoned handler thread ends
    assert time.monotonic() - begin < 10, "close() waited for the execution beyond its grace"
    assert runs == [sent.executionId]

    rerun = []
    with slow_emulator(db, rerun, seconds=0) as reopened:
        for execution_id in (sent.executionId, queued.executionId):
            done = reopened.wait_for_execution(actor.id, execution_id, timeout=30)
            assert done.status == "COMPLETE" and done.exitCode == 0
            logs = reopened.actors.getExecutionLogs(actorId=actor.id, executionId=execution_id).logs
            assert logs == "done\n"
    assert rerun == [sent.executionId, queued.executionId]


def test_an_execution_that_ends_within_the_grace_is_recorded_and_not_run_again(tmp_path):
    db, runs = tmp_path / "abaco.json", []
    emulator = slow_emulator(db, runs, seconds=0.5, shutdown_grace=10)
    actor = emulator.actors.add(body={"image": SLOW})
    sent = emulator.actors.sendMessage(actorId=actor.id, body={"message": "short"})
    wait_running(emulator, actor.id, sent.executionId)
    emulator.close()
    rerun = []
    with slow_emulator(db, rerun, seconds=0) as reopened:
        execution = reopened.actors.getExecution(actorId=actor.id, executionId=sent.executionId)
        assert execution.status == "COMPLETE" and execution.exitCode == 0
        reopened.drain()
    assert runs == [sent.executionId] and rerun == []


def test_a_server_shutting_down_answers_503_to_new_messages_and_still_serves_callbacks(tmp_path):
    release = threading.Event()
    server = serve(runner="local", shutdown_grace=30)
    observed = {}

    def handler(context):
        release.wait(30)

    server.emulator.register_image(SLOW, handler)
    api = server.api_url
    actor = requests.post(api, json={"image": SLOW}, timeout=10).json()["result"]
    sent = requests.post(f"{api}/{actor['id']}/messages", json={"message": "m"}, timeout=10).json()["result"]
    wait_running(server.emulator, actor["id"], sent["executionId"])
    closing = threading.Thread(target=server.close)
    closing.start()
    try:
        deadline = time.monotonic() + 10
        while server.emulator.engine.accepting:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        refused = requests.post(f"{api}/{actor['id']}/messages", json={"message": "late"}, timeout=10)
        observed["refused"] = (refused.status_code, refused.json())
        observed["read"] = requests.get(f"{api}/{actor['id']}", timeout=10).status_code
    finally:
        release.set()
        closing.join(30)
    status, body = observed["refused"]
    assert status == 503
    assert body["status"] == "error" and "shutting down" in body["message"] and body["result"] is None
    assert observed["read"] == 200  # the rest of the API answers during the grace
    assert not closing.is_alive()


def test_in_process_send_after_close_began_is_refused():
    emulator = AbacoEmulator(runner="local")
    actor = emulator.actors.add(body={"image": SLOW})
    emulator.engine.stop_accepting()
    with pytest.raises(requests.HTTPError) as refused:
        emulator.actors.sendMessage(actorId=actor.id, body={"message": "late"})
    assert refused.value.response.status_code == 503
    emulator.close()
