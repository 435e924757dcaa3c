"""Concurrency: 8 threads of mixed calls at once against one emulator (in process, with
and without `db_path`, and over HTTP) raise nothing but the 4xx of racing deletes,
and afterwards every accepted message has exactly one COMPLETE execution, with
counts, totals and search answers that agree.
"""
from __future__ import annotations

import json
import random
import threading
from collections import defaultdict

import pytest
import requests

from abaco_emulator import AbacoEmulator, AttrDict, serve

from abaco_checks import wait_until

THREADS = 8
IMAGE = "quick:1"


def quick(ctx):
    return ctx["raw_message"]


class HttpActors:
    """The few `ag.actors` methods this test uses, over HTTP with one keep-alive session."""

    def __init__(self, api: str) -> None:
        self.api = api
        self.session = requests.Session()

    def _call(self, method: str, path: str, **kwargs) -> AttrDict:
        response = self.session.request(method, self.api + path, timeout=30, **kwargs)
        response.raise_for_status()
        return AttrDict(response.json()["result"] or {})

    def add(self, body):
        return self._call("POST", "", json=body)

    def delete(self, actorId):
        return self._call("DELETE", f"/{actorId}")

    def sendMessage(self, actorId, body):
        return self._call("POST", f"/{actorId}/messages", json=body)

    def getMessages(self, actorId):
        return self._call("GET", f"/{actorId}/messages")

    def listExecutions(self, actorId):
        return self._call("GET", f"/{actorId}/executions")  # a query parameter would make it a search

    def getExecution(self, actorId, executionId):
        return self._call("GET", f"/{actorId}/executions/{executionId}")

    def updateState(self, actorId, body):
        return self._call("POST", f"/{actorId}/state", json=body)

    def getState(self, actorId):
        return self._call("GET", f"/{actorId}/state")

    def updatePermissions(self, actorId, body):
        return self._call("POST", f"/{actorId}/permissions", json=body)

    def addNonce(self, actorId, body):
        return self._call("POST", f"/{actorId}/nonces", json=body)

    def deleteNonce(self, actorId, nonceId):
        return self._call("DELETE", f"/{actorId}/nonces/{nonceId}")

    def addAlias(self, body):
        return self._call("POST", "/aliases", json=body)

    def getAlias(self, alias):
        return self._call("GET", f"/aliases/{alias}")

    def deleteAlias(self, alias):
        return self._call("DELETE", f"/aliases/{alias}")

    def getSearch(self, search_type, q=None, limit=100):
        return self._call("GET", f"/search/{search_type}", params={"q": json.dumps(q), "limit": limit})


class Workload:
    """Mixed calls from many threads, recording every execution id the emulator accepted."""

    def __init__(self, shared: list[str], stateful: str) -> None:
        self.shared = shared
        self.stateful = stateful
        self.accepted: dict[str, list[str]] = defaultdict(list)
        self.states: list[dict] = []
        self.pool: list[str] = []  # private actors any thread may send to or delete
        self.lock = threading.Lock()
        self.failures: list[BaseException] = []
        self.racing_4xx = 0

    def run(self, actors, number: int, calls: int) -> None:
        rng = random.Random(number)
        mine: list[tuple[str, str]] = []
        try:
            for i in range(calls):
                self.step(actors, rng, number, i, mine)
        except BaseException as exc:  # reported in the test thread
            self.failures.append(exc)

    def send(self, actors, actor_id: str, text: str) -> str:
        execution_id = actors.sendMessage(actorId=actor_id, body={"message": text}).executionId
        with self.lock:
            self.accepted[actor_id].append(execution_id)
        return execution_id

    def step(self, actors, rng: random.Random, number: int, i: int, mine: list) -> None:
        roll = rng.random()
        actor_id = rng.choice(self.shared)
        if roll < 0.35:
            mine.append((actor_id, self.send(actors, actor_id, f"t{number}-{i}")))
        elif roll < 0.45:
            assert actors.listExecutions(actorId=actor_id).totalExecutions >= 0
        elif roll < 0.55 and mine:
            sent_to, execution_id = rng.choice(mine)
            assert actors.getExecution(actorId=sent_to, executionId=execution_id).id == execution_id
        elif roll < 0.62:
            state = {"thread": number, "call": i}
            with self.lock:
                self.states.append(state)
            actors.updateState(actorId=self.stateful, body=state)
        elif roll < 0.69:
            actors.updatePermissions(actorId=actor_id, body={"user": f"user{number}",
                                                             "level": rng.choice(["READ", "EXECUTE", "UPDATE"])})
        elif roll < 0.76:
            nonce = actors.addNonce(actorId=actor_id, body={"maxUses": 3, "level": "READ"})
            actors.deleteNonce(actorId=actor_id, nonceId=nonce.id)
        elif roll < 0.83:
            alias = f"t{number}a{i}"
            actors.addAlias(body={"alias": alias, "actorId": actor_id})
            assert actors.getAlias(alias=alias).actorId == actor_id
            actors.deleteAlias(alias=alias)
        elif roll < 0.9:
            private = actors.add(body={"image": IMAGE, "name": f"private-{number}-{i}"}).id
            with self.lock:
                self.pool.append(private)
        else:
            with self.lock:
                target = rng.choice(self.pool) if self.pool else None
            if target is None:
                return
            try:
                if roll < 0.95:
                    self.send(actors, target, f"p{number}-{i}")
                else:
                    actors.delete(actorId=target)
                    with self.lock:
                        if target in self.pool:
                            self.pool.remove(target)
            except requests.HTTPError as exc:  # another thread deleted it first
                assert exc.response.status_code in (400, 404), exc.response.text
                with self.lock:
                    self.racing_4xx += 1

    def check(self, actors) -> None:
        """After drain: one COMPLETE execution per accepted message, and agreeing counts."""
        assert not self.failures, self.failures[:3]
        survivors = self.shared + self.pool
        for actor_id in survivors:
            listed = actors.listExecutions(actorId=actor_id)
            ids = [e["id"] for e in listed.executions]
            accepted = self.accepted.get(actor_id, [])
            assert len(ids) == len(set(ids)) == listed.totalExecutions, actor_id
            assert sorted(ids) == sorted(accepted), f"lost or extra executions of {actor_id}"
            assert {e["status"] for e in listed.executions} <= {"COMPLETE"}
            assert actors.getMessages(actorId=actor_id).messages == 0
            found = actors.getSearch(search_type="executions", q={"actor_id": actor_id}, limit=100000)
            assert found["_metadata"]["totalCount"] == len(accepted)
            assert sorted(r["id"] for r in found.search) == sorted(accepted)
        assert actors.getState(actorId=self.stateful).state in self.states


def prepare(actors) -> Workload:
    """Two stateful and two stateless shared actors."""
    shared = [actors.add(body={"image": IMAGE, "stateless": n % 2 == 1, "name": f"shared{n}"}).id
              for n in range(4)]
    return Workload(shared, shared[0])


def run_all(threads: list[threading.Thread]) -> None:
    """Start the client threads together and wait for them; none may hang."""
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "a client thread hangs"


def hammer(make_actors, workload: Workload, calls: int) -> None:
    run_all([threading.Thread(target=workload.run, args=(make_actors(), n, calls), name=f"load-{n}")
             for n in range(THREADS)])


@pytest.mark.parametrize("persistent", [False, True], ids=["memory", "db_path"])
def test_eight_threads_in_process_lose_and_duplicate_no_execution(tmp_path, persistent):
    db_path = str(tmp_path / "abaco.json") if persistent else None
    with AbacoEmulator(runner="local", db_path=db_path) as ag:
        ag.register_image(IMAGE, quick)
        workload = prepare(ag.actors)
        hammer(lambda: ag.actors, workload, calls=400)
        ag.drain(60)
        workload.check(ag.actors)
        assert sum(map(len, workload.accepted.values())) > THREADS * 50


def test_eight_http_clients_lose_and_duplicate_no_execution():
    with serve(runner="local") as server:
        server.emulator.register_image(IMAGE, quick)
        workload = prepare(HttpActors(server.api_url))
        hammer(lambda: HttpActors(server.api_url), workload, calls=150)
        server.emulator.drain(60)
        workload.check(HttpActors(server.api_url))
        assert sum(map(len, workload.accepted.values())) > THREADS * 30


# -- workers, updates and deletes racing, with the store compacting under the load ------------

def worker_load(ag, admin, shared: dict[str, bool], number: int, calls: int, accepted: dict, lock, failures,
                races: list) -> None:
    """One thread of sends, addWorker/deleteWorker, image updates (worker restarts), nonce
    sends, private actors deleted by any thread; records each accepted execution."""
    from requests import HTTPError
    rng = random.Random(1000 + number)
    try:
        for i in range(calls):
            actor_id = rng.choice(list(shared))
            roll = rng.random()
            try:
                if roll < 0.4:
                    sent = ag.actors.sendMessage(actorId=actor_id, body={"message": f"w{number}-{i}"})
                    execution_id = sent.executionId
                    with lock:
                        accepted[actor_id].append(execution_id)
                elif roll < 0.5:
                    if shared[actor_id] and len(ag.actors.listWorkers(actorId=actor_id)) < 6:
                        admin.actors.addWorker(actorId=actor_id, body={"num": 1})
                elif roll < 0.6:
                    workers = ag.actors.listWorkers(actorId=actor_id)
                    if workers:
                        ag.actors.deleteWorker(actorId=actor_id, workerId=rng.choice(workers).id)
                elif roll < 0.68:
                    ag.actors.update(actorId=actor_id, body={"image": rng.choice([IMAGE, "quick:2"]),
                                                             "stateless": shared[actor_id]})
                elif roll < 0.76:
                    nonce = ag.actors.addNonce(actorId=actor_id, body={"maxUses": 1, "level": "EXECUTE"})
                    execution_id = ag.as_user("nobody").actors.sendMessage(
                        actorId=actor_id, body={"message": "by nonce"}, nonce=nonce.id).executionId
                    with lock:
                        accepted[actor_id].append(execution_id)
                elif roll < 0.86:
                    private = ag.actors.add(body={"image": IMAGE, "stateless": rng.random() < 0.5}).id
                    ag.actors.sendMessage(actorId=private, body={"message": "doomed"})
                    ag.actors.delete(actorId=private)
                else:
                    found = ag.actors.getSearch(search_type="workers", q=json.dumps({"actor_id": actor_id}))
                    assert found["_metadata"]["totalCount"] == len(found.search)
            except HTTPError as exc:  # a worker another thread deleted first, or too many workers
                assert exc.response.status_code in (400, 404), exc.response.text
                with lock:
                    races.append(exc.response.json()["message"])
    except BaseException as exc:
        failures.append(exc)


def test_racing_worker_deletes_updates_and_compactions_leave_every_actor_a_worker(tmp_path, monkeypatch):
    from abaco_emulator import store
    monkeypatch.setattr(store, "_COMPACT_MIN_BYTES", 32 * 1024)  # compactions during the load
    with AbacoEmulator(runner="local", db_path=str(tmp_path / "abaco.json")) as ag:
        admin = ag.as_user("admin", roles=["Internal/abaco-admin"])
        for image in (IMAGE, "quick:2"):
            ag.register_image(image, quick)
        shared = {ag.actors.add(body={"image": IMAGE, "stateless": n % 2 == 0}).id: n % 2 == 0 for n in range(4)}
        accepted: dict[str, list[str]] = defaultdict(list)
        lock, failures, races = threading.Lock(), [], []
        run_all([threading.Thread(target=worker_load, name=f"load-{n}",
                                  args=(ag, admin, shared, n, 150, accepted, lock, failures, races))
                 for n in range(THREADS)])
        assert not failures, failures[:3]
        assert all("Worker not found" in m or "at most" in m or "No actor" in m for m in races), set(races)
        ag.drain(60)  # hangs if an actor was left without a worker
        for actor_id, stateless in shared.items():
            listed = ag.actors.listExecutions(actorId=actor_id)
            ids = [e["id"] for e in listed.executions]
            assert sorted(ids) == sorted(accepted[actor_id]) and len(ids) == listed.totalExecutions
            assert {e["status"] for e in listed.executions} == {"COMPLETE"}
            assert ag.actors.getMessages(actorId=actor_id).messages == 0
            # (replaced workers end as soon as they are idle, and leave the list then)
            wait_until(lambda: len(ag.actors.listWorkers(actorId=actor_id)) >= 1 if stateless
                       else len(ag.actors.listWorkers(actorId=actor_id)) == 1, 10,
                       f"{'a worker' if stateless else 'exactly one worker'} for actor {actor_id}")
        assert sorted(a.id for a in ag.actors.list()) == sorted(shared)
    # and the file, compacted under the load, reopens with the same executions
    with AbacoEmulator(runner="local", db_path=str(tmp_path / "abaco.json")) as again:
        for actor_id in shared:
            listed = again.actors.listExecutions(actorId=actor_id)
            assert listed.totalExecutions == len(accepted[actor_id])


def test_update_right_after_deleting_a_busy_worker_leaves_a_stateful_actor_one_worker(ag):
    """The deleted worker is still finishing when the update restarts the workers: it
    must not be counted as one to replace (that gave a stateful actor two)."""
    gate = threading.Event()
    ag.register_image("gated:1", lambda ctx: gate.wait(10))
    ag.register_image("gated:2", quick)
    actor = ag.actors.add(body={"image": "gated:1", "stateless": False})
    first = ag.actors.sendMessage(actorId=actor.id, body={"message": "held"}).executionId
    wait_until(lambda: ag.actors.getExecution(actorId=actor.id, executionId=first).status == "RUNNING", 10,
               "the first execution RUNNING")
    busy = ag.actors.listWorkers(actorId=actor.id)[0].id
    ag.actors.deleteWorker(actorId=actor.id, workerId=busy)  # replaced at once
    ag.actors.update(actorId=actor.id, body={"image": "gated:2", "stateless": False})
    gate.set()
    sent = [ag.actors.sendMessage(actorId=actor.id, body={"message": f"m{n}"}).executionId for n in range(3)]
    ag.drain(10)
    assert [ag.actors.getExecution(actorId=actor.id, executionId=e).status for e in sent] == ["COMPLETE"] * 3
    wait_until(lambda: len(ag.actors.listWorkers(actorId=actor.id)) == 1, 10, "exactly one worker")
