"""The store: a db_path survives restarts (queued messages included) and is TinyDB JSON."""
from __future__ import annotations

import json
import threading

import pytest
from tinydb import TinyDB

from abaco_emulator import AbacoEmulator, EmulatorError

from abaco_checks import abaco_error, echo


def emulator(path, **kwargs):
    return AbacoEmulator(runner="local", db_path=str(path), **kwargs)


def run(ag, actor_id, message="m"):
    sent = ag.actors.sendMessage(actorId=actor_id, body={"message": message})
    return ag.wait_for_execution(actor_id, sent.executionId, timeout=5)


@pytest.fixture
def db(tmp_path):
    return tmp_path / "abaco.json"


def test_reopening_brings_back_every_record(db):
    with emulator(db) as first:
        first.register_image("echo:1", echo)
        actor = first.actors.add(body={"image": "echo:1", "name": "kept", "stateless": False,
                                       "description": "persisted", "defaultEnvironment": {"A": "1"}})
        first.actors.updateState(actorId=actor.id, body={"count": 3})
        first.actors.updatePermissions(actorId=actor.id, body={"user": "friend", "level": "EXECUTE"})
        nonce = first.actors.addNonce(actorId=actor.id, body={"level": "READ", "maxUses": 5})
        first.actors.get(actorId=actor.id, nonce=nonce.id)
        first.actors.addAlias(body={"alias": "kept-alias", "actorId": actor.id})
        ex = run(first, actor.id, "before restart")
    with emulator(db) as second:
        second.register_image("echo:1", echo)
        again = second.actors.get(actorId=actor.id)
        assert (again.name, again.description, again.defaultEnvironment, again.stateless) == \
            ("kept", "persisted", {"A": "1"}, False)
        assert again.createTime == actor.createTime
        assert second.actors.getState(actorId=actor.id).state == {"count": 3}
        assert second.actors.getPermissions(actorId=actor.id) == {"testuser": "UPDATE", "friend": "EXECUTE"}
        kept_nonce = second.actors.getNonce(actorId=actor.id, nonceId=nonce.id)
        assert (kept_nonce.level, kept_nonce.currentUses, kept_nonce.remainingUses) == ("READ", 1, 4)
        assert second.actors.getAlias(alias="kept-alias").actorId == actor.id
        kept_ex = second.actors.getExecution(actorId=actor.id, executionId=ex.id)
        assert kept_ex.status == "COMPLETE" and kept_ex.finishTime == ex.finishTime
        assert second.actors.getExecutionLogs(actorId=actor.id, executionId=ex.id).logs == "got before restart\n"
        summary = second.actors.listExecutions(actorId=actor.id)
        assert summary.totalExecutions == 1 and summary.totalCpu == ex.cpu
        # the restored actor works once its image is registered again: by alias, as the friend
        second.actors.update(actorId="kept-alias", body={"image": "echo:1", "name": "kept", "stateless": False,
                                                         "description": "persisted",
                                                         "defaultEnvironment": {"A": "1"}, "force": True})
        after = run(second.as_user("friend"), "kept-alias", "after restart")
        assert after.executor == "friend"


def test_results_survive_a_restart(db):
    with emulator(db) as first:
        first.register_image("echo:1", echo)
        actor = first.actors.add(body={"image": "echo:1"})
        ex = run(first, actor.id, "result")
    with emulator(db) as second:
        assert second.actors.getOneExecutionResult(actorId=actor.id, executionId=ex.id).content == b"result"


def test_queued_messages_survive_a_restart_and_are_then_executed(db):
    with emulator(db) as first:
        actor = first.actors.add(body={"image": "later:1", "stateless": False})
        sent = [first.actors.sendMessage(actorId=actor.id, body={"message": str(i)}).executionId
                for i in range(3)]
        binary = first.actors.sendBinaryMessage(actorId=actor.id, message=b"\x00bin",
                                                environment={"K": "v"}).executionId
        assert first.actors.getMessages(actorId=actor.id).messages == 4
    seen = []
    with emulator(db) as second:
        second.register_image("later:1", lambda ctx: seen.append((ctx.raw_message, ctx.binary, ctx.get("K"))))
        # registering the image the reopened actor waited for starts it again: no update needed
        for execution_id in sent + [binary]:
            assert second.wait_for_execution(actor.id, execution_id, timeout=5).status == "COMPLETE"
        assert second.actors.getMessages(actorId=actor.id).messages == 0
    assert seen == [("0", None, None), ("1", None, None), ("2", None, None), (None, b"\x00bin", "v")]


def test_queued_messages_run_on_restart_when_the_image_is_already_known(db, monkeypatch):
    gate = threading.Event()
    with emulator(db) as first:
        first.register_image("slow:1", lambda ctx: gate.wait(5))
        actor = first.actors.add(body={"image": "slow:1", "stateless": False})
        first.actors.sendMessage(actorId=actor.id, body={"message": "running at close"})
        queued = first.actors.sendMessage(actorId=actor.id, body={"message": "queued"}).executionId
    gate.set()
    # a new emulator registers images only after it exists, so register through the
    # local runner class before the engine starts its workers
    from abaco_emulator.runners.local import LocalRunner
    original = LocalRunner.__init__

    def with_image(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.register("slow:1", echo)
    monkeypatch.setattr(LocalRunner, "__init__", with_image)
    with emulator(db) as second:
        ex = second.wait_for_execution(actor.id, queued, timeout=5)
        assert ex.status == "COMPLETE"
        assert second.actors.getExecutionLogs(actorId=actor.id, executionId=queued).logs == "got queued\n"


def test_registering_a_missing_image_brings_its_error_actor_back(db):
    with emulator(db) as ag:
        actor = ag.actors.add(body={"image": "unknown:1"})
        sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "waits"}).executionId
        with pytest.raises(Exception):
            ag.wait_for_execution(actor.id, sent, timeout=0.5)
        assert ag.actors.get(actorId=actor.id).status == "ERROR"
        assert "unknown:1" in ag.actors.get(actorId=actor.id).statusMessage
        ag.register_image("unknown:1", echo)
        assert ag.wait_for_execution(actor.id, sent, timeout=5).status == "COMPLETE"
        assert ag.actors.get(actorId=actor.id).status == "READY"


def test_a_completed_execution_never_runs_twice_after_restart(db):
    count = []
    with emulator(db) as first:
        first.register_image("count:1", lambda ctx: count.append(1))
        actor = first.actors.add(body={"image": "count:1"})
        run(first, actor.id)
    with emulator(db) as second:
        second.register_image("count:1", lambda ctx: count.append(1))
        second.actors.update(actorId=actor.id, body={"image": "count:1", "force": True})
        second.drain(5)
    assert count == [1]


def test_the_file_is_json_that_plain_tinydb_reads(db):
    with emulator(db) as first:
        first.register_image("echo:1", echo)
        actor = first.actors.add(body={"image": "echo:1", "name": "plain"})
        ex = run(first, actor.id)
        first.actors.addAlias(body={"alias": "plain-alias", "actorId": actor.id})
    with open(db, encoding="utf-8") as handle:
        json.load(handle)
    plain = TinyDB(str(db))
    try:
        actors = plain.table("actors").all()
        assert [a["id"] for a in actors] == [actor.id]
        assert actors[0]["name"] == "plain"
        assert ex.id in [e["id"] for e in plain.table("executions").all()]
        assert [a["alias"] for a in plain.table("aliases").all()] == ["plain-alias"]
    finally:
        plain.close()


def test_a_cut_last_journal_line_does_not_lose_earlier_changes(db):
    with emulator(db) as first:
        first.register_image("echo:1", echo)
        actor = first.actors.add(body={"image": "echo:1"})
    journal = f"{db}.journal"
    with open(journal, "a", encoding="utf-8") as handle:
        handle.write('["actors", "99", {"id": "half')  # a crash in the middle of a write
    with emulator(db) as second:
        assert second.actors.get(actorId=actor.id).id == actor.id


def test_a_damaged_database_file_is_reported_not_ignored(db):
    db.write_text("{ this is not json")
    with pytest.raises(EmulatorError):
        emulator(db)


def test_a_file_open_in_one_emulator_is_refused_to_a_second_until_closed(db):
    from abaco_emulator.errors import StoreLocked

    first = emulator(db)
    try:
        with pytest.raises(StoreLocked, match="in use by another emulator"):
            emulator(db)
    finally:
        first.close()
    emulator(db).close()


def test_close_can_let_running_executions_finish_and_keep_the_queue(db):
    gate = threading.Event()
    ag = emulator(db)
    ag.register_image("slow:1", lambda ctx: (gate.wait(5), print("finished"))[1])
    actor = ag.actors.add(body={"image": "slow:1", "stateless": False})
    running = ag.actors.sendMessage(actorId=actor.id, body={"message": "runs"}).executionId
    queued = ag.actors.sendMessage(actorId=actor.id, body={"message": "waits"}).executionId
    while ag.actors.getExecution(actorId=actor.id, executionId=running).status != "RUNNING":
        threading.Event().wait(0.01)
    threading.Timer(0.2, gate.set).start()
    ag.close(finish_running=True, timeout=10)
    with emulator(db) as again:
        assert again.actors.getExecution(actorId=actor.id, executionId=running).status == "COMPLETE"
        assert again.actors.getExecutionLogs(actorId=actor.id, executionId=running).logs == "finished\n"
        assert again.actors.getExecution(actorId=actor.id, executionId=queued).status == "SUBMITTED"
        assert again.actors.getMessages(actorId=actor.id).messages == 1


def test_a_new_path_starts_empty(db):
    with emulator(db) as fresh:
        assert fresh.actors.list() == []
    assert db.exists()


def test_in_memory_emulators_share_nothing():
    with AbacoEmulator(runner="local") as one, AbacoEmulator(runner="local") as two:
        one.register_image("echo:1", echo)
        actor = one.actors.add(body={"image": "echo:1"})
        with abaco_error(400, actor.id):
            two.actors.get(actorId=actor.id)


@pytest.mark.parametrize("persistent", [False, True])
def test_concurrent_writes_from_threads_are_all_kept(tmp_path, persistent):
    path = tmp_path / "threads.json" if persistent else None
    ag = AbacoEmulator(runner="local", db_path=str(path) if path else None)
    ag.register_image("echo:1", echo)
    errors = []
    made: list[tuple[str, list[str]]] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def work(n):
        try:
            start.wait(5)
            for i in range(5):
                actor = ag.actors.add(body={"image": "echo:1", "name": f"t{n}-{i}"})
                ag.actors.updatePermissions(actorId=actor.id, body={"user": f"u{n}", "level": "READ"})
                sent = [ag.actors.sendMessage(actorId=actor.id, body={"message": f"{n}-{i}-{k}"}).executionId
                        for k in range(3)]
                with lock:
                    made.append((actor.id, sent))
        except BaseException as exc:  # reported to the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    ag.drain(20)
    assert len(made) == 40
    assert len(ag.actors.list()) == 40
    for actor_id, sent in made:
        assert ag.actors.listExecutions(actorId=actor_id).totalExecutions == 3
    ag.close()
    if persistent:
        with emulator(path) as again:
            assert len(again.actors.list()) == 40
            for actor_id, sent in made:
                perms = again.actors.getPermissions(actorId=actor_id)
                assert len(perms) == 2
                for execution_id in sent:
                    assert again.actors.getExecution(actorId=actor_id, executionId=execution_id).status == "COMPLETE"
