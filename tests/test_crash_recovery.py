"""Crash safety of `serve(db_path=...)`: a server killed with SIGKILL while clients send
messages loses no answered message, runs no completed execution twice, and leaves a
database file that opens again with everything the clients made.

The server runs in a child process (a launcher script written here), so it can be
killed for real; its handler appends each message to a file with O_APPEND + fsync, so
the file is the ground truth of what ran.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

LAUNCHER = textwrap.dedent('''
    import os, signal, sys, threading, time
    import abaco_emulator

    def count(ctx):
        fd = os.open(os.environ["RUN_FILE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (ctx["raw_message"] + "\\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        time.sleep(0.002)

    server = abaco_emulator.serve(db_path=sys.argv[1], runner="local", port=0)
    server.emulator.register_image("count:1", count)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(server.url, flush=True)
    stop.wait()
    server.close()
    print("closed", flush=True)
''')

TOTAL = 400


class Launched:
    """One server process on the database file; `api` is its actors URL."""

    def __init__(self, tmp_path: Path) -> None:
        script = tmp_path / "launcher.py"
        script.write_text(LAUNCHER)
        env = dict(os.environ, RUN_FILE=str(tmp_path / "ran.txt"))
        self.process = subprocess.Popen([sys.executable, str(script), str(tmp_path / "abaco.json")],
                                        stdout=subprocess.PIPE, text=True, env=env)
        line = self.process.stdout.readline().strip()
        assert line.startswith("http://"), f"the launcher printed {line!r}"
        self.api = line + "/actors/v2"

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.process.stdout.close()

    def terminate(self) -> None:
        """SIGTERM: the server closes, folding its journal into the file."""
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(20) == 0
        assert "closed" in self.process.stdout.read()
        self.process.stdout.close()


def call(session: requests.Session, method: str, url: str, **kwargs) -> dict:
    response = session.request(method, url, timeout=20, **kwargs)
    assert response.status_code < 300, response.text
    return response.json()["result"]


class Sender:
    """Sends unique texts to the actors in turn, remembering each text that got an executionId."""

    def __init__(self, api: str, actor_ids: list[str]) -> None:
        self.api = api
        self.actor_ids = actor_ids
        self.answered: dict[str, tuple[str, str]] = {}  # text -> (actor id, execution id)
        self.lock = threading.Lock()
        self.counter = 0
        self.errors: list[BaseException] = []

    def next_text(self, prefix: str) -> str | None:
        with self.lock:
            if self.counter >= TOTAL:
                return None
            self.counter += 1
            return f"{prefix}-{self.counter}"

    def send(self, session: requests.Session, text: str) -> None:
        actor_id = self.actor_ids[hash(text) % len(self.actor_ids)]
        result = call(session, "POST", f"{self.api}/{actor_id}/messages", json={"message": text})
        with self.lock:
            self.answered[text] = (actor_id, result["executionId"])

    def send_until(self, count: int, prefix: str) -> None:
        with requests.Session() as session:
            while len(self.answered) < count and (text := self.next_text(prefix)):
                self.send(session, text)

    def keep_sending(self, prefix: str) -> None:
        """Send until the server dies (a connection error ends the thread)."""
        with requests.Session() as session:
            while text := self.next_text(prefix):
                try:
                    self.send(session, text)
                except requests.RequestException:  # refused, reset, or cut mid-answer
                    return
                except BaseException as exc:  # seen by the test thread
                    self.errors.append(exc)
                    return


def statuses(session: requests.Session, api: str, actor_ids: list[str]) -> dict[str, str]:
    """Execution id -> status, over every actor."""
    out = {}
    for actor_id in actor_ids:
        for execution in call(session, "GET", f"{api}/{actor_id}/executions", params={"limit": 100000})["executions"]:
            out[execution["id"]] = execution["status"]
    return out


def make_actors(session: requests.Session, api: str) -> dict:
    """Two actors, with state, a permission, a nonce and an alias to find again after the crash."""
    stateful = call(session, "POST", api, json={"image": "count:1", "stateless": False, "name": "stateful"})
    stateless = call(session, "POST", api, json={"image": "count:1", "stateless": True, "name": "stateless"})
    call(session, "POST", f"{api}/{stateful['id']}/state", json={"kept": [1, 2, 3]})
    call(session, "POST", f"{api}/{stateless['id']}/permissions", json={"user": "bob", "level": "EXECUTE"})
    nonce = call(session, "POST", f"{api}/{stateful['id']}/nonces", json={"maxUses": 5, "level": "READ"})
    call(session, "POST", f"{api}/aliases", json={"alias": "counter", "actorId": stateless["id"]})
    return {"ids": [stateful["id"], stateless["id"]], "nonce": nonce["id"]}


def wait_complete(session: requests.Session, api: str, sender: Sender, timeout: float = 25) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        now = statuses(session, api, sender.actor_ids)
        pending = [e for _, e in sender.answered.values() if now.get(e) != "COMPLETE"]
        if not pending or time.monotonic() > deadline:
            assert not pending, f"{len(pending)} answered executions not COMPLETE after the restart: {pending[:5]}"
            return now
        time.sleep(0.05)


@pytest.mark.parametrize("kill_after, threads", [(1, 0), (50, 0), (300, 0), (150, 2)],
                         ids=["after-1-send", "after-50-sends", "after-300-sends", "during-2-thread-sends"])
def test_sigkilled_server_loses_no_answered_message_and_reruns_no_completed_one(tmp_path, kill_after, threads):
    first = Launched(tmp_path)
    try:
        with requests.Session() as session:
            made = make_actors(session, first.api)
            sender = Sender(first.api, made["ids"])
            if threads:
                workers = [threading.Thread(target=sender.keep_sending, args=(f"t{n}",)) for n in range(threads)]
                for worker in workers:
                    worker.start()
                deadline = time.monotonic() + 20
                while len(sender.answered) < kill_after and time.monotonic() < deadline:
                    time.sleep(0.005)
            else:
                sender.send_until(kill_after, "m")
            # Every execution COMPLETE now is COMPLETE at the kill, which comes next. A
            # reader can see a change a moment before its writer's fsync (group commit),
            # so one acknowledged write follows: it returns once every earlier change is
            # on disk too.
            complete_before = {e for e, s in statuses(session, first.api, made["ids"]).items() if s == "COMPLETE"}
            call(session, "POST", f"{first.api}/{made['ids'][0]}/state", json={"kept": [1, 2, 3]})
    finally:
        first.kill()
    if threads:
        for worker in workers:
            worker.join(20)
    assert not sender.errors, sender.errors
    answered_before = set(sender.answered)
    assert len(answered_before) >= kill_after

    second = Launched(tmp_path)
    try:
        sender.api = second.api
        with requests.Session() as session:
            sender.send_until(TOTAL, "after")  # the restarted server takes new messages too
            final = wait_complete(session, second.api, sender)
            assert {e for _, e in sender.answered.values()} <= set(final)
            stateful, stateless = made["ids"]
            assert call(session, "GET", f"{second.api}/{stateful}/state")["state"] == {"kept": [1, 2, 3]}
            permissions = call(session, "GET", f"{second.api}/{stateless}/permissions")
            assert permissions.get("bob") == "EXECUTE", permissions
            assert call(session, "GET", f"{second.api}/{stateful}/nonces/{made['nonce']}")["remainingUses"] == 5
            assert call(session, "GET", f"{second.api}/aliases/counter")["actorId"] == stateless
            for actor_id in made["ids"]:
                assert call(session, "GET", f"{second.api}/{actor_id}/messages")["messages"] == 0
    finally:
        second.terminate()

    runs = Counter((tmp_path / "ran.txt").read_text().splitlines())
    missing = [text for text in sender.answered if runs[text] == 0]
    assert not missing, f"answered messages never run: {missing[:5]}"
    twice = {text for text, n in runs.items() if n > 1}
    assert all(runs[text] == 2 for text in twice), "a message ran more than twice over one crash"
    rerun_complete = [t for t in twice if t in sender.answered and sender.answered[t][1] in complete_before]
    assert not rerun_complete, f"executions COMPLETE before the kill ran again: {rerun_complete[:5]}"
    assert not [t for t in twice if t not in answered_before], "a message sent after the restart ran twice"

    # closed cleanly: the file alone is the database, readable by plain json and TinyDB
    db_file = tmp_path / "abaco.json"
    raw = json.loads(db_file.read_text())
    assert len(raw["actors"]) == 2
    from tinydb import TinyDB
    with TinyDB(str(db_file)) as db:
        assert len(db.table("executions")) == len(final)
