"""Crash safety: a persistent server killed with SIGKILL while clients send 1,000 messages
to actors that are executing, then restarted on the same file.

What engine.py documents, and what is checked here at several kill points (after 1, 100
and 500 answered sends, right after the last one, and inside a store compaction):

* every message answered with an executionId is executed (COMPLETE, and its handler's
  run is on record);
* an execution COMPLETE at the kill never runs again; one that was not (queued, or
  RUNNING: it "runs again from the start") runs exactly once more;
* the database file is valid JSON that plain TinyDB loads, at the kill and after the
  restarted server closes;
* actors, state, permissions, nonces and aliases that a client was answered for are
  intact.

The server is `tests/crash_launcher.py` in a child process (the local runner's handlers
must be registered from Python). Its handler appends "<execution id> <message>" to a
file with fsync, so that file is the ground truth of which runs happened. What was
durable at the kill is read from a copy of the database taken before the restart.

Then the same promise at the store itself, where a crash is a copy of its files: no
acknowledged write is lost and nothing hangs when a compaction, a close() or a failed
journal write (a full disk) meets concurrent writers.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from tinydb import TinyDB

from abaco_emulator.store import Store

from abaco_checks import wait_until

LAUNCHER = Path(__file__).resolve().parents[1] / "crash_launcher.py"  # a helper shared in tests/
IMAGE = "crash/count:1"
TOTAL = 1000
SENDERS = 4
COMPACT_BYTES = 16 * 1024  # compactions every few hundred messages instead of every 8 MB

# What a request meets when the server is killed under it: no connection, or an answer
# cut in the middle (then the request is in doubt, never an error of the test).
SERVER_DIED = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class Server:
    """One emulator process on the database file, killed or stopped by the test."""

    def __init__(self, command: list[str], ready_prefix: str, timeout: float = 30) -> None:
        # Its stderr is kept (a temporary file never fills the way a pipe would) and shown
        # by ensure_gone(), so a failing test says what the server logged.
        self.stderr = tempfile.TemporaryFile("w+")
        # PYTHONFAULTHANDLER: a server that dies of a signal (a fault) still says where.
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self.stderr, text=True,
                                        env={**os.environ, "PYTHONFAULTHANDLER": "1"})
        self.pid = self.process.pid
        deadline = time.monotonic() + timeout
        lines = []
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith(ready_prefix):
                self.url = line[len(ready_prefix):].split()[0]
                self.api = self.url + "/actors/v2"
                return
        self.process.kill()
        raise AssertionError(f"the server did not start: {''.join(lines)!r}")

    @classmethod
    def local(cls, tmp_path: Path, *extra: str) -> "Server":
        return cls([sys.executable, str(LAUNCHER), str(tmp_path / "abaco.json"), str(tmp_path / "runs.txt"),
                    "--compact-bytes", str(COMPACT_BYTES), *extra], "ready ")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.wait_dead(10)

    def wait_dead(self, timeout: float) -> None:
        assert self.process.wait(timeout) == -signal.SIGKILL
        self.process.stdout.close()

    def stop(self, closed_line: str) -> None:
        """SIGTERM: the server closes cleanly (journal folded into the file)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            exited = self.process.wait(60)  # its grace (10 s), then the HTTP server's own shutdown
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGABRT)  # faulthandler writes every thread's stack
            self.process.wait(10)
            raise AssertionError("the server hung after SIGTERM (its threads are in its log below)") from None
        assert exited == 0
        assert closed_line in self.process.stdout.read()
        self.process.stdout.close()

    def ensure_gone(self) -> None:
        exited = self.process.poll()
        if exited is None:
            self.process.kill()
            self.process.wait(10)
        self.stderr.seek(0)
        print(f"server {self.pid} (exit {exited}, before the test's kill) logged:\n{self.stderr.read()}")
        self.stderr.close()


def call(session: requests.Session, method: str, url: str, **kwargs):
    response = session.request(method, url, timeout=20, **kwargs)
    assert response.status_code < 300, f"{method} {url}: {response.status_code} {response.text}"
    return response.json()["result"]


class Clients:
    """What the clients were told: every answered send and change, and the calls that
    died with the server (in doubt: they may or may not have been stored)."""

    def __init__(self, actors: list[str], stateful: list[str]) -> None:
        self.actors = actors
        self.stateful = stateful
        self.lock = threading.Condition()  # notified at each answered send
        self.attempted = 0
        self.answered: dict[str, str] = {}  # message text -> execution id
        self.in_doubt: set[str] = set()
        self.refused: set[str] = set()  # answered 503: the server was shutting down
        self.states: dict[str, list[tuple[dict, bool]]] = {a: [] for a in stateful}  # (state, answered)
        self.aliases: dict[str, str] = {}
        self.permissions: dict[str, dict[str, str]] = {a: {} for a in actors}
        self.nonces: dict[str, str] = {}  # nonce id -> actor id
        self.errors: list[BaseException] = []  # anything but the server's death
        self.api = ""

    def next_text(self, prefix: str) -> str | None:
        with self.lock:
            if self.attempted >= TOTAL:
                return None
            self.attempted += 1
            return f"{prefix}{self.attempted}"

    def send(self, prefix: str, stop: threading.Event) -> None:
        """Send messages round the actors until TOTAL were tried, `stop`, or the server dies."""
        try:
            self._send(prefix, stop)
        except BaseException as exc:
            self.errors.append(exc)

    def _send(self, prefix: str, stop: threading.Event) -> None:
        with requests.Session() as session:
            while not stop.is_set() and (text := self.next_text(prefix)):
                actor_id = self.actors[int(text.lstrip(prefix)) % len(self.actors)]
                try:
                    response = session.post(f"{self.api}/{actor_id}/messages", json={"message": text}, timeout=20)
                except SERVER_DIED:
                    with self.lock:
                        self.in_doubt.add(text)
                    return
                if response.status_code == 503:  # a graceful stop began: refused, and said so
                    assert response.json()["status"] == "error", response.text
                    with self.lock:
                        self.refused.add(text)
                    continue
                assert response.status_code < 300, f"POST {actor_id}/messages: {response.status_code} {response.text}"
                result = response.json()["result"]
                with self.lock:
                    self.answered[text] = result["executionId"]
                    self.lock.notify_all()

    def change(self, stop: threading.Event) -> None:
        """State updates, permissions, nonces and aliases while the messages flow."""
        try:
            self._change(stop)
        except BaseException as exc:
            self.errors.append(exc)

    def _change(self, stop: threading.Event) -> None:
        n = 0
        with requests.Session() as session:
            while not stop.is_set():
                n += 1
                actor_id = self.actors[n % len(self.actors)]
                stateful = self.stateful[n % len(self.stateful)]
                state = {"n": n, "by": "change"}
                self.states[stateful].append((state, False))
                try:
                    call(session, "POST", f"{self.api}/{stateful}/state", json=state)
                    self.states[stateful][-1] = (state, True)
                    user = f"user{n}"
                    call(session, "POST", f"{self.api}/{actor_id}/permissions", json={"user": user, "level": "READ"})
                    self.permissions[actor_id][user] = "READ"
                    nonce = call(session, "POST", f"{self.api}/{actor_id}/nonces", json={"maxUses": 3, "level": "READ"})
                    self.nonces[nonce["id"]] = actor_id
                    call(session, "POST", f"{self.api}/aliases", json={"alias": f"al{n}", "actorId": actor_id})
                    self.aliases[f"al{n}"] = actor_id
                except SERVER_DIED:
                    return


def make_actors(api: str) -> Clients:
    """Two stateful and two stateless actors (four executions at once), each with a
    state or a permission, a nonce and an alias made before any message."""
    with requests.Session() as session:
        ids = []
        for n, stateless in enumerate([False, False, True, True]):
            ids.append(call(session, "POST", api, json={"image": IMAGE, "name": f"a{n}", "stateless": stateless})["id"])
        clients = Clients(ids, ids[:2])
        clients.api = api
        for n, actor_id in enumerate(ids):
            call(session, "POST", f"{api}/{actor_id}/permissions", json={"user": "bob", "level": "EXECUTE"})
            clients.permissions[actor_id]["bob"] = "EXECUTE"
            clients.nonces[call(session, "POST", f"{api}/{actor_id}/nonces",
                                json={"maxUses": 5, "level": "EXECUTE"})["id"]] = actor_id
            call(session, "POST", f"{api}/aliases", json={"alias": f"first{n}", "actorId": actor_id})
            clients.aliases[f"first{n}"] = actor_id
        for actor_id in ids[:2]:
            call(session, "POST", f"{api}/{actor_id}/state", json={"kept": actor_id})
            clients.states[actor_id].append(({"kept": actor_id}, True))
    return clients


def load(clients: Clients, prefix: str, changes: bool) -> tuple[threading.Event, list[threading.Thread]]:
    stop = threading.Event()
    threads = [threading.Thread(target=clients.send, args=(prefix, stop), name=f"crash-sender-{n}")
               for n in range(SENDERS)]
    if changes:
        threads.append(threading.Thread(target=clients.change, args=(stop,), name="crash-changes"))
    for thread in threads:
        thread.start()
    return stop, threads


def finish(clients: Clients, stop: threading.Event, threads: list[threading.Thread], now: bool = True) -> None:
    """Join the clients: at once (`now`), or once they sent all they had to."""
    if now:
        stop.set()
    for thread in threads:
        thread.join(30)
    assert not any(t.is_alive() for t in threads), "a client hangs"
    assert not clients.errors, clients.errors[:3]


def runs(tmp_path: Path) -> Counter:
    """Execution id -> how many times its handler ran."""
    path = tmp_path / "runs.txt"
    lines = path.read_text().splitlines() if path.exists() else []
    return Counter(line.split(" ", 1)[0] for line in lines)


def assert_plain_json_database(path: Path) -> dict:
    """The file alone is valid JSON and plain TinyDB reads it; returns the tables."""
    tables = json.loads(path.read_text())
    with TinyDB(str(path), access_mode="r") as db:
        assert len(db.table("actors")) == len(tables.get("actors", {}))
    return tables


def durable_executions(tmp_path: Path) -> dict[str, dict]:
    """What the killed server had made durable: execution id -> stored record, read from
    a copy of the file and its journal (the restart must find exactly this)."""
    copy = Path(tempfile.mkdtemp(dir=tmp_path, prefix="at-kill-"))
    for name in ("abaco.json", "abaco.json.journal"):
        if (tmp_path / name).exists():
            shutil.copy(tmp_path / name, copy / name)
    store = Store(str(copy / "abaco.json"))
    try:
        return {e["id"]: e for e in store.all("executions")}
    finally:
        store.close()


def executions(session: requests.Session, api: str, actor_id: str) -> list[dict]:
    listed = call(session, "GET", f"{api}/{actor_id}/executions")  # the whole summary: no query parameters
    ids = [e["id"] for e in listed["executions"]]
    assert len(ids) == len(set(ids)) == listed["totalExecutions"], f"duplicated executions of {actor_id}"
    return listed["executions"]


def all_complete(session: requests.Session, api: str, actors: list[str], answered: list[str]) -> dict[str, dict]:
    """Every execution of the actors once all are COMPLETE, `answered` among them; else {}."""
    found = {e["id"]: e for a in actors for e in executions(session, api, a)}
    done = all(e["status"] == "COMPLETE" for e in found.values()) and set(answered) <= set(found)
    return found if done else {}


def check_restarted(session: requests.Session, api: str, clients: Clients, tmp_path: Path,
                    at_kill: dict[str, str], runs_at_kill: Counter) -> dict[str, dict]:
    final = wait_until(lambda: all_complete(session, api, clients.actors, list(clients.answered.values())),
                       60, "every execution COMPLETE after the restart")
    ran = runs(tmp_path)
    texts = {}
    for line in (tmp_path / "runs.txt").read_text().splitlines():
        execution_id, text = line.split(" ", 1)
        assert texts.setdefault(execution_id, text) == text
    # every answered message executed, and nothing executed that no client sent
    for text, execution_id in clients.answered.items():
        assert final[execution_id]["status"] == "COMPLETE" and texts.get(execution_id) == text, text
    assert set(ran) == set(final), "a run without an execution, or an execution that never ran"
    assert set(texts.values()) <= set(clients.answered) | clients.in_doubt, "an execution of a message never sent"
    # COMPLETE at the kill: never again; anything else: exactly once more than at the kill
    rerun = [e for e, status in at_kill.items() if status == "COMPLETE" and ran[e] != 1]
    assert not rerun, f"executions COMPLETE at the kill ran again: {rerun[:5]}"
    wrong = {e: (runs_at_kill[e], ran[e]) for e in final
             if at_kill.get(e) != "COMPLETE" and ran[e] != runs_at_kill[e] + 1}
    assert not wrong, f"(runs at the kill, in all) of executions not COMPLETE at the kill: {list(wrong.items())[:5]}"
    for actor_id in clients.actors:
        assert call(session, "GET", f"{api}/{actor_id}/messages")["messages"] == 0
    # what the clients were answered for is intact
    listed = call(session, "GET", api)
    assert sorted(a["id"] for a in listed) == sorted(clients.actors)
    for actor_id in clients.actors:
        permissions = call(session, "GET", f"{api}/{actor_id}/permissions")
        assert clients.permissions[actor_id].items() <= permissions.items(), actor_id
    for nonce_id, actor_id in clients.nonces.items():
        nonce = call(session, "GET", f"{api}/{actor_id}/nonces/{nonce_id}")
        assert nonce["remainingUses"] == nonce["maxUses"], nonce
    for alias, actor_id in clients.aliases.items():
        assert call(session, "GET", f"{api}/aliases/{alias}")["actorId"] == actor_id, alias
    for actor_id, history in clients.states.items():
        last = max(i for i, (_, answered) in enumerate(history) if answered)
        allowed = [state for state, _ in history[last:]]  # the last answered, or a later one in doubt
        assert call(session, "GET", f"{api}/{actor_id}/state")["state"] in allowed, actor_id
    return final


def crash_and_restart(tmp_path: Path, kill_after: int | None = None, die_in_compaction: str | None = None,
                      sigterm_grace: float | None = None) -> None:
    """Kill the server (SIGKILL after `kill_after` answered sends, or inside a compaction),
    or stop it with SIGTERM given `sigterm_grace`; restart it: nothing answered is lost,
    nothing COMPLETE runs again, the rest runs exactly once more."""
    extra = ["--die-in-compaction", die_in_compaction] if die_in_compaction else []
    if sigterm_grace is not None:
        extra += ["--shutdown-grace", str(sigterm_grace)]
    first = Server.local(tmp_path, *extra)
    try:
        clients = make_actors(first.api)
        stop, threads = load(clients, "m", changes=True)
        if die_in_compaction:
            first.wait_dead(60)  # it kills itself inside the compaction
        else:
            with clients.lock:
                clients.lock.wait_for(lambda: len(clients.answered) >= kill_after, 60)
            if sigterm_grace is None:
                first.kill()
            else:
                first.stop("closed")
        finish(clients, stop, threads)
    finally:
        first.ensure_gone()
    runs_at_kill = runs(tmp_path)
    assert 0 < len(clients.answered) < TOTAL or kill_after == TOTAL, len(clients.answered)
    assert_plain_json_database(tmp_path / "abaco.json")
    at_kill = {e: record["status"] for e, record in durable_executions(tmp_path).items()}
    missing = [t for t, e in clients.answered.items() if e not in at_kill]
    assert not missing, f"answered messages not durable at the kill: {missing[:5]}"

    second = Server.local(tmp_path)
    try:
        clients.api = second.api
        stop, threads = load(clients, "n", changes=False)  # new messages meet the recovered ones
        finish(clients, stop, threads, now=False)
        assert len(clients.answered) + len(clients.in_doubt) + len(clients.refused) == TOTAL
        with requests.Session() as session:
            final = check_restarted(session, second.api, clients, tmp_path, at_kill, runs_at_kill)
        second.stop("closed")
    finally:
        second.ensure_gone()

    tables = assert_plain_json_database(tmp_path / "abaco.json")
    assert not os.path.getsize(tmp_path / "abaco.json.journal"), "the journal was not folded in at close"
    assert {d["id"]: d["status"] for d in tables["executions"].values()} == dict.fromkeys(final, "COMPLETE")
    stopped = [d["id"] for d in tables["executions"].values() if d["exit_code"] != 0]
    assert not stopped, f"executions recorded as stopped (a stop must leave them to run again): {stopped[:5]}"
    assert not tables.get("messages"), "messages left in the closed file"


@pytest.mark.parametrize("kill_after", [1, 100, 500, TOTAL],
                         ids=["after-1-send", "after-100-sends", "after-500-sends", "after-the-last-send"])
def test_sigkilled_server_runs_every_answered_message_once_more_at_most(tmp_path, kill_after):
    crash_and_restart(tmp_path, kill_after=kill_after)


@pytest.mark.parametrize("grace", [0.0, 10.0], ids=["no-grace", "10s-grace"])
def test_sigterm_during_sends_loses_nothing_and_reruns_only_what_it_stopped(tmp_path, grace):
    crash_and_restart(tmp_path, kill_after=100, sigterm_grace=grace)


@pytest.mark.parametrize("when", ["before-rename", "after-rename", "after-truncate"])
def test_server_killed_inside_a_store_compaction_loses_and_reruns_nothing(tmp_path, when):
    crash_and_restart(tmp_path, die_in_compaction=f"{when}:2")


def test_store_compacting_under_concurrent_writers_neither_hangs_nor_loses_a_write(tmp_path, monkeypatch):
    """Compaction ran inside a write while holding the store lock and took the sync lock,
    which a concurrent sync holds while it takes the store lock: a deadlock."""
    from abaco_emulator import store as store_module
    monkeypatch.setattr(store_module, "_COMPACT_MIN_BYTES", 4096)
    path = str(tmp_path / "db.json")
    store = Store(path)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(300):
                store.insert("executions", {"id": f"{n}-{i}", "actor_id": f"a{n}", "status": "SUBMITTED",
                                            "logs": "x" * 50})
                store.update("executions", f"{n}-{i}", {"status": "COMPLETE"})
                if i % 3 == 0:
                    store.delete("executions", f"{n}-{i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,), daemon=True) for n in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "writers deadlocked in a compaction"
    assert not errors, errors
    assert os.path.getsize(path) > 4096, "no compaction happened"
    expected = {f"{n}-{i}" for n in range(8) for i in range(300) if i % 3}
    # reopened without close(), as after a crash: every acknowledged write is there
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("db.json", "db.json.journal"):
        shutil.copy(tmp_path / name, copy / name)
    store.close()
    reopened = Store(str(copy / "db.json"))
    try:
        assert {e["id"]: e["status"] for e in reopened.all("executions")} == dict.fromkeys(expected, "COMPLETE")
    finally:
        reopened.close()


BUSYBOX = "abaco-emulator/busybox:test"


def containers_of(docker_client, pid: int) -> list:
    return docker_client.containers.list(all=True, filters={"label": f"abaco-emulator.pid={pid}"}, ignore_removed=True)


def workdirs_of(pid: int) -> list[str]:
    return [n for n in os.listdir(tempfile.gettempdir()) if n.startswith(f"abaco-docker-{pid}-")]


@pytest.mark.docker
def test_sigkilled_docker_server_leaves_no_container_and_runs_every_answered_message(tmp_path, docker_client,
                                                                                      images):
    """`abaco-emulator serve --db FILE` (the Docker runner) killed while containers run:
    the restarted server removes the dead one's containers and temp dirs at start, runs
    every answered message, and reruns none that was COMPLETE (same start time)."""
    command = [sys.executable, "-m", "abaco_emulator", "serve", "--db", str(tmp_path / "abaco.json"), "--port", "0"]
    first = Server(command, "ready: ")
    answered: dict[str, tuple[str, str]] = {}  # text -> (actor id, execution id)
    try:
        with requests.Session() as session:
            actors = [call(session, "POST", first.api, json={
                "image": BUSYBOX, "stateless": stateless,
                "defaultEnvironment": {"SCRIPT": 'echo "ran $MSG"; sleep 0.3'}})["id"] for stateless in (False, True)]
            for n in range(8):
                actor_id = actors[n % 2]
                sent = call(session, "POST", f"{first.api}/{actor_id}/messages", json={"message": f"m{n}"})
                answered[f"m{n}"] = (actor_id, sent["executionId"])
            wait_until(lambda: [e for a in actors for e in executions(session, first.api, a)
                                if e["status"] == "COMPLETE"]
                       and [c for c in containers_of(docker_client, first.pid) if c.status == "running"],
                       60, "an execution COMPLETE while a container runs")
        first.kill()
    finally:
        first.ensure_gone()
    assert containers_of(docker_client, first.pid), "no container of the killed server: the test proves nothing"
    assert_plain_json_database(tmp_path / "abaco.json")
    complete_at_kill = {e: r for e, r in durable_executions(tmp_path).items() if r["status"] == "COMPLETE"}
    assert complete_at_kill

    second = Server(command, "ready: ")
    try:
        assert not containers_of(docker_client, first.pid), "the dead server's containers were not swept at start"
        assert not workdirs_of(first.pid), "the dead server's temp dirs were not swept at start"
        with requests.Session() as session:
            for n in range(8, 10):
                sent = call(session, "POST", f"{second.api}/{actors[0]}/messages", json={"message": f"m{n}"})
                answered[f"m{n}"] = (actors[0], sent["executionId"])
            final = wait_until(lambda: all_complete(session, second.api, actors, [e for _, e in answered.values()]),
                               90, "every execution COMPLETE after the restart")
            for text, (actor_id, execution_id) in answered.items():
                logs = call(session, "GET", f"{second.api}/{actor_id}/executions/{execution_id}/logs")["logs"]
                assert logs == f"ran {text}\n", (text, logs)
                if execution_id in complete_at_kill:  # not run again: the times of its only run
                    assert final[execution_id]["startTime"] == complete_at_kill[execution_id]["start_time"]
        second.stop("abaco-emulator: stopped")
    finally:
        second.ensure_gone()
    assert not containers_of(docker_client, second.pid), "containers left by the closed server"


def test_sigterm_docker_server_stops_running_containers_and_runs_them_again(tmp_path, docker_client, images):
    """`serve --db FILE --shutdown-grace 0` (the Docker runner) stopped with SIGTERM while
    containers run: it exits cleanly leaving no container, and what it stopped is not
    recorded but runs again, whole, at the next start."""
    command = [sys.executable, "-m", "abaco_emulator", "serve", "--db", str(tmp_path / "abaco.json"), "--port", "0",
               "--shutdown-grace", "0"]
    first = Server(command, "ready: ")
    answered: dict[str, tuple[str, str]] = {}
    try:
        with requests.Session() as session:
            actors = [call(session, "POST", first.api, json={
                "image": BUSYBOX, "stateless": stateless,
                "defaultEnvironment": {"SCRIPT": 'sleep 2; echo "ran $MSG"'}})["id"] for stateless in (False, True)]
            for n in range(4):
                sent = call(session, "POST", f"{first.api}/{actors[n % 2]}/messages", json={"message": f"m{n}"})
                answered[f"m{n}"] = (actors[n % 2], sent["executionId"])
            wait_until(lambda: [c for c in containers_of(docker_client, first.pid) if c.status == "running"],
                       60, "a container running")
        first.stop("abaco-emulator: stopped")
    finally:
        first.ensure_gone()
    assert not containers_of(docker_client, first.pid), "containers left by the stopped server"
    at_stop = durable_executions(tmp_path)
    assert all(r["status"] != "COMPLETE" for r in at_stop.values()), "an execution stopped by SIGTERM was recorded"

    second = Server([*command[:-2]], "ready: ")
    try:
        with requests.Session() as session:
            final = wait_until(lambda: all_complete(session, second.api, actors, [e for _, e in answered.values()]),
                               90, "every execution COMPLETE after the restart")
            for text, (actor_id, execution_id) in answered.items():
                assert final[execution_id]["status"] == "COMPLETE"
                execution = call(session, "GET", f"{second.api}/{actor_id}/executions/{execution_id}")
                assert execution["exitCode"] == 0, execution
                logs = call(session, "GET", f"{second.api}/{actor_id}/executions/{execution_id}/logs")["logs"]
                assert logs == f"ran {text}\n", (text, logs)
        second.stop("abaco-emulator: stopped")
    finally:
        second.ensure_gone()


def test_store_closed_while_writers_race_neither_hangs_nor_loses_an_acknowledged_write(tmp_path):
    """close() took the store lock, then the sync lock, and a racing write's sync takes them
    the other way round (a deadlock in about one close of four); and a write after close()
    was acknowledged when another writer had taken its journal line and failed with it."""
    for trial in range(10):
        path = str(tmp_path / f"db{trial}.json")
        store = Store(path)
        acknowledged: list[str] = []
        stop = threading.Event()

        def write(n: int) -> None:
            i = 0
            while not stop.is_set():
                try:
                    store.insert("executions", {"id": f"{n}-{i}", "actor_id": "a"})
                except Exception:  # closed under it: not acknowledged
                    return
                acknowledged.append(f"{n}-{i}")
                i += 1

        writers = [threading.Thread(target=write, args=(n,), daemon=True) for n in range(4)]
        for writer in writers:
            writer.start()
        wait_until(lambda: len(acknowledged) > 20, 10, "writes before the close")
        closer = threading.Thread(target=store.close, daemon=True)
        closer.start()
        closer.join(10)
        stop.set()
        assert not closer.is_alive(), f"close() deadlocked with a racing write (trial {trial})"
        for writer in writers:
            writer.join(10)
        reopened = Store(path)
        try:
            stored = {e["id"] for e in reopened.all("executions")}
        finally:
            reopened.close()
        assert set(acknowledged) <= stored


class _FailingJournal:
    """A journal file whose writes fail (a full disk) once `failing` is set."""

    def __init__(self, real) -> None:
        self.real = real
        self.failing = False

    def write(self, text: str) -> int:
        if self.failing:
            raise OSError(28, "No space left on device")
        return self.real.write(text)

    def __getattr__(self, name: str):
        return getattr(self.real, name)


def test_store_acknowledges_no_write_after_a_journal_write_failed(tmp_path):
    """A failed journal write loses the lines it took, other writers' among them: those
    writers (and every later one) must get an error, never an acknowledgement."""
    from abaco_emulator.errors import StoreError
    path = tmp_path / "db.json"
    store = Store(str(path))
    journal = store._storage._journal = _FailingJournal(store._storage._journal)
    acknowledged: list[str] = []
    failed: list[str] = []

    def write(n: int) -> None:
        for i in range(200):
            key = f"{n}-{i}"
            try:
                store.insert("executions", {"id": key, "actor_id": "a"})
            except (StoreError, OSError):
                failed.append(key)
            else:
                acknowledged.append(key)

    writers = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for writer in writers:
        writer.start()
    wait_until(lambda: len(acknowledged) > 50, 10, "writes before the disk fills")
    journal.failing = True
    for writer in writers:
        writer.join(30)
    assert failed, "no write failed: the test proves nothing"
    copy = tmp_path / "copy"  # the file as a crash now would leave it
    copy.mkdir()
    for name in ("db.json", "db.json.journal"):
        shutil.copy(tmp_path / name, copy / name)
    reopened = Store(str(copy / "db.json"))
    try:
        stored = {e["id"] for e in reopened.all("executions")}
    finally:
        reopened.close()
    lost = set(acknowledged) - stored
    assert not lost, f"acknowledged writes lost: {sorted(lost)[:5]}"
    with pytest.raises((StoreError, OSError)):
        store.close()  # what it holds cannot be saved either; the file is released all the same
    Store(str(path)).close()
