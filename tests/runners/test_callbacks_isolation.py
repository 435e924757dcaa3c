"""An execution calls back to its own emulator, never to another server.

A bare in-process emulator (no `serve`) gives its executions a private API on a free
loopback port, for their own tokens only. Two such emulators and a decoy server on the
port the README suggests for `serve` (5000) run at once: each execution sees only its
own emulator's actors, and the decoy is never called.
"""
from __future__ import annotations

import json
import socket
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from abaco_emulator import AbacoEmulator

PROBE = textwrap.dedent('''
    import json, os, urllib.request
    request = urllib.request.Request(os.environ["_abaco_api_server"] + "/actors/v2",
                                     headers={"Authorization": "Bearer " + os.environ["_abaco_access_token"]})
    print(json.dumps([actor["id"] for actor in json.load(urllib.request.urlopen(request, timeout=10))["result"]]))
''')
PYTHON_IMAGE = "abaco-emulator/python:test"


@pytest.fixture
def decoy():
    """A server on 127.0.0.1:5000 (another free port if that is taken) that records every request."""
    seen: list[str] = []

    class Record(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            body = json.dumps({"result": [{"id": "DECOY"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    try:
        server = ThreadingHTTPServer(("127.0.0.1", 5000), Record)
    except OSError:
        server = ThreadingHTTPServer(("127.0.0.1", 0), Record)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield seen
    server.shutdown()
    server.server_close()


def probe(emulator: AbacoEmulator, image: str, body: dict) -> tuple[str, list[str], int]:
    actor = emulator.actors.add(body={"image": image, **body})
    sent = emulator.actors.sendMessage(actorId=actor.id, body={"message": "who is there?"})
    done = emulator.wait_for_execution(actor.id, sent.executionId, timeout=60)
    logs = emulator.actors.getExecutionLogs(actorId=actor.id, executionId=sent.executionId).logs
    return actor.id, json.loads(logs.strip().splitlines()[-1]) if done.exitCode == 0 else logs, done.exitCode


def assert_each_reaches_only_its_own(runner: str, image: str, body: dict, decoy: list[str]) -> None:
    """Two bare emulators of `runner` at once, each probed by an execution of `image`."""
    first, second = AbacoEmulator(runner=runner), AbacoEmulator(runner=runner)
    try:
        if runner == "local":
            for emulator in (first, second):
                emulator.register_image(image, command=[sys.executable, "-c", PROBE])
        first_id, first_saw, first_exit = probe(first, image, body)
        second_id, second_saw, second_exit = probe(second, image, body)
    finally:
        first.close()
        second.close()
    assert (first_exit, second_exit) == (0, 0), (first_saw, second_saw)
    assert first_saw == [first_id] and second_saw == [second_id]
    assert decoy == []


def test_each_bare_emulators_commands_reach_only_their_own_emulator(decoy):
    assert_each_reaches_only_its_own("local", "probe:1", {}, decoy)


@pytest.mark.docker
def test_each_bare_emulators_containers_reach_only_their_own_emulator(decoy, images):
    assert_each_reaches_only_its_own("docker", PYTHON_IMAGE, {"defaultEnvironment": {"PY_SCRIPT": PROBE}}, decoy)


def test_the_private_api_refuses_everyone_but_the_executions():
    emulator = AbacoEmulator(runner="local")
    emulator.register_image("probe:1", command=[sys.executable, "-c", PROBE])
    try:
        probe(emulator, "probe:1", {})
        url = emulator.engine.api_server + "/actors/v2"
        assert requests.get(url, timeout=10).status_code == 401  # no default user
        assert requests.get(url, headers={"Authorization": "Bearer guess"}, timeout=10).status_code == 401
        forged = {"X-Jwt-Assertion-DEV-DEVELOP": "e30.eyJodHRwOi8vd3NvMi5vcmcvY2xhaW1zL3VzZXJuYW1lIjoidGVzdHVzZXIifQ."}
        assert requests.get(url, headers=forged, timeout=10).status_code == 401  # no unverified JWT
    finally:
        emulator.close()
    with pytest.raises(requests.ConnectionError):  # stopped with the emulator
        requests.get(url, timeout=2)


def test_before_any_execution_the_callback_address_answers_nothing():
    emulator = AbacoEmulator(runner="local")
    try:
        port = int(emulator.engine.api_server.rsplit(":", 1)[1])
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        emulator.close()
