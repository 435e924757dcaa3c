"""The engine: FIFO mailboxes, one-at-a-time stateful actors, parallel stateless workers,
wait_for_execution and drain."""
from __future__ import annotations

import threading

import pytest

from abaco_emulator import ExecutionTimeout

from abaco_checks import Gate, abaco_error, echo


@pytest.fixture
def gate(ag):
    gate = Gate()
    ag.register_image("gate:1", gate)
    yield gate
    gate.release.set()


def test_messages_run_in_fifo_order_per_actor(ag):
    order = []
    ag.register_image("order:1", lambda ctx: order.append(ctx.raw_message))
    actor = ag.actors.add(body={"image": "order:1", "stateless": False})
    sent = [ag.actors.sendMessage(actorId=actor.id, body={"message": str(i)}) for i in range(20)]
    ag.drain(10)
    assert order == [str(i) for i in range(20)]
    starts = [ag.actors.getExecution(actorId=actor.id, executionId=s.executionId).startTime for s in sent]
    assert starts == sorted(starts)


def test_stateless_actor_with_one_worker_is_fifo_too(ag):
    order = []
    ag.register_image("order:1", lambda ctx: order.append(ctx.raw_message))
    actor = ag.actors.add(body={"image": "order:1"})
    for i in range(10):
        ag.actors.sendMessage(actorId=actor.id, body={"message": str(i)})
    ag.drain(10)
    assert order == [str(i) for i in range(10)]


def test_stateful_actor_runs_strictly_one_message_at_a_time(ag, gate):
    actor = ag.actors.add(body={"image": "gate:1", "stateless": False})
    for i in range(3):
        ag.actors.sendMessage(actorId=actor.id, body={"message": str(i)})
    assert gate.wait_entered(1)
    # while the first is held, no second execution may start
    assert not gate.wait_entered(2, timeout=0.3)
    assert ag.actors.getMessages(actorId=actor.id).messages == 2
    gate.release.set()
    ag.drain(5)
    assert gate.most == 1
    assert gate.entered == ["0", "1", "2"]


def test_stateful_actor_has_one_worker_even_under_load(ag, gate):
    actor = ag.actors.add(body={"image": "gate:1", "stateless": False})
    for i in range(5):
        ag.actors.sendMessage(actorId=actor.id, body={"message": str(i)})
    assert gate.wait_entered(1)
    assert len(ag.actors.listWorkers(actorId=actor.id)) == 1
    gate.release.set()
    ag.drain(5)
    summary = ag.actors.listExecutions(actorId=actor.id)
    assert {e["status"] for e in summary.executions} == {"COMPLETE"}
    worker_ids = {ag.actors.getExecution(actorId=actor.id, executionId=e["id"]).workerId
                  for e in summary.executions}
    assert len(worker_ids) == 1


def test_stateless_actor_runs_in_parallel_with_several_workers(ag, admin):
    barrier = threading.Barrier(3, timeout=5)
    ag.register_image("barrier:1", lambda ctx: barrier.wait())
    actor = ag.actors.add(body={"image": "barrier:1"})
    admin.actors.addWorker(actorId=actor.id, body={"num": 3})  # at least three: two more
    assert len(ag.actors.listWorkers(actorId=actor.id)) == 3
    sent = [ag.actors.sendMessage(actorId=actor.id, body={"message": str(i)}) for i in range(3)]
    # each execution only finishes once all three are inside the handler at once
    executions = [ag.wait_for_execution(actor.id, s.executionId, timeout=10) for s in sent]
    assert [e.exitCode for e in executions] == [0, 0, 0]
    assert not barrier.broken
    assert len({e.workerId for e in executions}) == 3


def test_stateless_parallelism_is_bounded_by_the_worker_count(ag, admin, gate):
    actor = ag.actors.add(body={"image": "gate:1"})
    admin.actors.addWorker(actorId=actor.id, body={"num": 2})
    for i in range(4):
        ag.actors.sendMessage(actorId=actor.id, body={"message": str(i)})
    assert gate.wait_entered(2)
    assert not gate.wait_entered(3, timeout=0.3)
    assert ag.actors.getMessages(actorId=actor.id).messages == 2
    gate.release.set()
    ag.drain(5)
    assert gate.most == 2
    assert len(gate.entered) == 4


def test_wait_for_execution_returns_the_finished_execution(ag):
    ag.register_image("echo:1", echo)
    actor = ag.actors.add(body={"image": "echo:1"})
    sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "m"})
    ex = ag.wait_for_execution(actor.id, sent.executionId, timeout=5)
    assert ex.id == sent.executionId
    assert ex.status == "COMPLETE"


def test_wait_for_execution_raises_timeout_error(ag, gate):
    actor = ag.actors.add(body={"image": "gate:1"})
    sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "m"})
    assert gate.wait_entered(1)
    with pytest.raises(TimeoutError) as info:
        ag.wait_for_execution(actor.id, sent.executionId, timeout=0.2)
    assert isinstance(info.value, ExecutionTimeout)
    assert sent.executionId in str(info.value)
    gate.release.set()
    assert ag.wait_for_execution(actor.id, sent.executionId, timeout=5).status == "COMPLETE"


def test_wait_for_execution_of_actor_in_error_says_why(ag):
    actor = ag.actors.add(body={"image": "missing/image:1"})
    sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "m"})
    with pytest.raises(TimeoutError) as info:
        ag.wait_for_execution(actor.id, sent.executionId, timeout=0.5)
    assert "missing/image:1" in str(info.value)


def test_wait_for_unknown_execution_is_400(ag):
    ag.register_image("echo:1", echo)
    actor = ag.actors.add(body={"image": "echo:1"})
    with abaco_error(400, "NOPE"):
        ag.wait_for_execution(actor.id, "NOPE", timeout=1)


def test_wait_for_execution_checks_permission_of_the_view(ag):
    ag.register_image("echo:1", echo)
    actor = ag.actors.add(body={"image": "echo:1"})
    sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "m"})
    with abaco_error(400, "Not authorized"):
        ag.as_user("stranger").wait_for_execution(actor.id, sent.executionId, timeout=5)


def test_drain_waits_until_every_mailbox_is_empty_and_nothing_runs(ag):
    ag.register_image("echo:1", echo)
    actors = [ag.actors.add(body={"image": "echo:1", "stateless": i % 2 == 0}) for i in range(3)]
    sent = [(a.id, ag.actors.sendMessage(actorId=a.id, body={"message": str(i)}).executionId)
            for a in actors for i in range(5)]
    ag.drain(10)
    for actor_id, execution_id in sent:
        assert ag.actors.getExecution(actorId=actor_id, executionId=execution_id).status == "COMPLETE"
    for actor in actors:
        assert ag.actors.getMessages(actorId=actor.id).messages == 0


def test_drain_raises_timeout_error_while_something_runs(ag, gate):
    actor = ag.actors.add(body={"image": "gate:1"})
    ag.actors.sendMessage(actorId=actor.id, body={"message": "m"})
    assert gate.wait_entered(1)
    with pytest.raises(TimeoutError):
        ag.drain(0.2)
    gate.release.set()
    ag.drain(5)


def test_drain_raises_timeout_error_while_messages_wait_for_an_actor_in_error(ag):
    actor = ag.actors.add(body={"image": "missing/image:1"})
    ag.actors.sendMessage(actorId=actor.id, body={"message": "m"})
    with pytest.raises(TimeoutError) as info:
        ag.drain(0.3)
    assert actor.id in str(info.value)


def test_drain_with_nothing_to_do_returns_at_once(ag):
    ag.drain(0.1)


def test_many_messages_to_many_actors_all_complete(ag, admin):
    ag.register_image("echo:1", echo)
    actors = [ag.actors.add(body={"image": "echo:1"}) for _ in range(4)]
    for a in actors:
        admin.actors.addWorker(actorId=a.id, body={"num": 3})
    sent = [(a.id, ag.actors.sendMessage(actorId=a.id, body={"message": f"{a.id}-{i}"}).executionId)
            for i in range(25) for a in actors]
    ag.drain(20)
    for actor_id, execution_id in sent:
        ex = ag.actors.getExecution(actorId=actor_id, executionId=execution_id)
        assert ex.status == "COMPLETE"
        logs = ag.actors.getExecutionLogs(actorId=actor_id, executionId=execution_id).logs
        assert logs.startswith(f"got {actor_id}-")
    for a in actors:
        assert ag.actors.listExecutions(actorId=a.id).totalExecutions == 25
