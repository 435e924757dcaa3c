"""Workers: one per actor at registration; admin-only addWorker, which ensures at least
`num` workers (Abaco's WorkersResource.post); getWorker and deleteWorker. A stateful
actor may be given several workers, as on Abaco, and still runs one message at a time."""
from __future__ import annotations

import time

import pytest

from abaco_checks import ID, TIME, Gate, abaco_error, assert_camel_model, echo, wait_until

PRIVILEGED = ["Internal/abaco-privileged"]


@pytest.fixture
def image(ag):
    ag.register_image("echo:1", echo)
    return "echo:1"


def test_a_new_actor_gets_one_worker(ag, image):
    actor = ag.actors.add(body={"image": image})
    workers = ag.actors.listWorkers(actorId=actor.id)
    assert isinstance(workers, list)
    assert len(workers) == 1
    worker = workers[0]
    assert_camel_model(worker, ["id", "status", "chName", "image", "createTime"])
    assert ID.match(worker.id)
    assert worker.chName == f"worker_{worker.id}"
    assert worker.image == image
    assert TIME.match(worker.createTime)
    assert worker.status in ("REQUESTED", "READY")


def test_worker_is_ready_when_idle_and_busy_while_running(ag):
    gate = Gate()
    ag.register_image("gate:1", gate)
    actor = ag.actors.add(body={"image": "gate:1"})
    worker_id = ag.actors.listWorkers(actorId=actor.id)[0].id
    wait_until(lambda: ag.actors.getWorker(actorId=actor.id, workerId=worker_id).status == "READY", timeout=5)
    sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "m"})
    try:
        assert gate.wait_entered(1)
        assert ag.actors.getWorker(actorId=actor.id, workerId=worker_id).status == "BUSY"
    finally:
        gate.release.set()
    ex = ag.wait_for_execution(actor.id, sent.executionId, timeout=5)
    assert ex.workerId == worker_id
    worker = ag.actors.getWorker(actorId=actor.id, workerId=worker_id)
    assert worker.status == "READY"
    assert TIME.match(worker.lastExecutionTime)


def test_get_worker_returns_one_worker(ag, image):
    actor = ag.actors.add(body={"image": image})
    listed = ag.actors.listWorkers(actorId=actor.id)[0]
    got = ag.actors.getWorker(actorId=actor.id, workerId=listed.id)
    assert_camel_model(got, ["id", "status"])
    assert got.id == listed.id


def test_get_unknown_worker_is_404_worker_not_found(ag, image):
    actor = ag.actors.add(body={"image": image})
    with abaco_error(404, "Worker not found.") as caught:
        ag.actors.getWorker(actorId=actor.id, workerId="AAAAAAAAAAAAA")
    assert caught.message == "Worker not found."


def test_worker_of_another_actor_is_not_found(ag, image):
    first = ag.actors.add(body={"image": image})
    second = ag.actors.add(body={"image": image})
    worker_id = ag.actors.listWorkers(actorId=second.id)[0].id
    with abaco_error(404, "Worker not found."):
        ag.actors.getWorker(actorId=first.id, workerId=worker_id)
    with abaco_error(404, "Worker not found."):
        ag.actors.deleteWorker(actorId=first.id, workerId=worker_id)


def test_add_worker_ensures_at_least_num_workers(ag, admin, image):
    actor = ag.actors.add(body={"image": image})
    answer = admin.actors.addWorker(actorId=actor.id, body={"num": 3})
    assert answer["message"] == "Scheduled 2 new worker(s) to start. Previously, there were 1 workers."
    workers = ag.actors.listWorkers(actorId=actor.id)
    assert len(workers) == 3
    assert len({w.id for w in workers}) == 3
    again = admin.actors.addWorker(actorId=actor.id, body={"num": 2})
    assert again["message"] == f"Actor {actor.id} already had 2 worker(s)."
    assert len(ag.actors.listWorkers(actorId=actor.id)) == 3


@pytest.mark.transports("in-process", reason="agavepy 0.9.5 refuses addWorker without body= before any request")
def test_add_worker_without_num_ensures_one(ag, admin, image):
    actor = ag.actors.add(body={"image": image})
    assert admin.actors.addWorker(actorId=actor.id)["message"] == f"Actor {actor.id} already had 1 worker(s)."
    assert len(ag.actors.listWorkers(actorId=actor.id)) == 1


def test_ordinary_owner_cannot_add_workers(ag, image):
    actor = ag.actors.add(body={"image": image})
    with abaco_error(400, "Not authorized"):
        ag.actors.addWorker(actorId=actor.id, body={"num": 1})
    assert len(ag.actors.listWorkers(actorId=actor.id)) == 1


def test_privileged_user_cannot_add_workers_either(ag, image):
    privileged = ag.as_user("priv", roles=PRIVILEGED)
    actor = privileged.actors.add(body={"image": image})
    with abaco_error(400, "Not authorized"):
        privileged.actors.addWorker(actorId=actor.id, body={"num": 1})


def test_stateful_actor_given_a_second_worker_still_runs_one_message_at_a_time(ag, admin):
    gate = Gate()
    ag.register_image("gate:1", gate)
    actor = ag.actors.add(body={"image": "gate:1", "stateless": False})
    admin.actors.addWorker(actorId=actor.id, body={"num": 2})  # Abaco does not refuse it either
    assert len(ag.actors.listWorkers(actorId=actor.id)) == 2
    sent = [ag.actors.sendMessage(actorId=actor.id, body={"message": str(i)}).executionId for i in range(3)]
    assert gate.wait_entered(1)
    time.sleep(0.3)  # room for a second worker to take a message, which it must not
    assert gate.running == 1
    gate.release.set()
    for execution_id in sent:
        ag.wait_for_execution(actor.id, execution_id, timeout=10)
    assert gate.most == 1 and gate.entered == ["0", "1", "2"]


def test_max_workers_does_not_cap_an_admins_add_worker_as_on_abaco(ag, admin, image):
    privileged = ag.as_user("priv", roles=PRIVILEGED)
    actor = privileged.actors.add(body={"image": image, "maxWorkers": 2})
    assert actor.maxWorkers == 2
    admin.actors.addWorker(actorId=actor.id, body={"num": 3})
    assert len(privileged.actors.listWorkers(actorId=actor.id)) == 3


@pytest.mark.parametrize("num", [0, -3])
def test_a_num_below_one_adds_no_worker(ag, admin, image, num):
    actor = ag.actors.add(body={"image": image})
    admin.actors.addWorker(actorId=actor.id, body={"num": num})
    assert len(ag.actors.listWorkers(actorId=actor.id)) == 1


def test_a_num_that_is_not_an_integer_is_400(ag, admin, image):
    actor = ag.actors.add(body={"image": image})
    with abaco_error(400, "num"):
        admin.actors.addWorker(actorId=actor.id, body={"num": "two"})


def test_delete_worker_returns_none_and_the_worker_goes_away(ag, admin, image):
    actor = ag.actors.add(body={"image": image})
    admin.actors.addWorker(actorId=actor.id, body={"num": 2})
    first, second = (w.id for w in ag.actors.listWorkers(actorId=actor.id))
    assert ag.actors.deleteWorker(actorId=actor.id, workerId=first) is None
    wait_until(lambda: [w.id for w in ag.actors.listWorkers(actorId=actor.id)] == [second], timeout=5)
    with abaco_error(404, "Worker not found."):
        ag.actors.getWorker(actorId=actor.id, workerId=first)
    sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "m"})
    assert ag.wait_for_execution(actor.id, sent.executionId, timeout=5).workerId == second


def test_delete_unknown_worker_is_404(ag, image):
    actor = ag.actors.add(body={"image": image})
    with abaco_error(404, "Worker not found."):
        ag.actors.deleteWorker(actorId=actor.id, workerId="AAAAAAAAAAAAA")


def test_delete_worker_needs_update(ag, image):
    actor = ag.actors.add(body={"image": image})
    worker_id = ag.actors.listWorkers(actorId=actor.id)[0].id
    ag.actors.updatePermissions(actorId=actor.id, body={"user": "runner", "level": "EXECUTE"})
    with abaco_error(400, "Not authorized"):
        ag.as_user("runner").actors.deleteWorker(actorId=actor.id, workerId=worker_id)
    assert ag.as_user("runner").actors.getWorker(actorId=actor.id, workerId=worker_id).id == worker_id


def test_list_workers_needs_read(ag, image):
    actor = ag.actors.add(body={"image": image})
    with abaco_error(400, "Not authorized"):
        ag.as_user("stranger").actors.listWorkers(actorId=actor.id)


def test_update_with_new_image_replaces_the_workers(ag, image):
    ag.register_image("echo:2", echo)
    actor = ag.actors.add(body={"image": image})
    old = ag.actors.listWorkers(actorId=actor.id)[0].id
    ag.actors.update(actorId=actor.id, body={"image": "echo:2"})
    wait_until(lambda: [w.image for w in ag.actors.listWorkers(actorId=actor.id)] == ["echo:2"], timeout=5)
    assert ag.actors.listWorkers(actorId=actor.id)[0].id != old


def test_worker_of_an_unregistered_image_is_in_error(ag):
    actor = ag.actors.add(body={"image": "nowhere:1"})
    wait_until(lambda: ag.actors.get(actorId=actor.id).status == "ERROR", timeout=5)
    assert [w.status for w in ag.actors.listWorkers(actorId=actor.id)] == ["ERROR"]


def test_stateful_actor_runs_one_message_at_a_time_across_a_forced_update(ag):
    gate = Gate()
    ag.register_image("gate:1", gate)
    actor = ag.actors.add(body={"image": "gate:1", "stateless": False})
    first = ag.actors.sendMessage(actorId=actor.id, body={"message": "first"})
    assert gate.wait_entered(1)
    ag.actors.update(actorId=actor.id, body={"image": "gate:1", "stateless": False, "force": True})
    second = ag.actors.sendMessage(actorId=actor.id, body={"message": "second"})
    wait_until(lambda: ag.actors.get(actorId=actor.id).status == "READY", timeout=5)  # not held up by "first"
    time.sleep(0.3)  # room for a replacement worker that did not wait to start "second"
    assert gate.entered == ["first"]
    gate.release.set()
    for sent in (first, second):
        assert ag.wait_for_execution(actor.id, sent.executionId, timeout=5).status == "COMPLETE"
    assert gate.entered == ["first", "second"] and gate.most == 1


def test_stateless_actor_update_lets_new_workers_start_while_old_ones_finish(ag):
    gate = Gate()
    ag.register_image("gate:1", gate)
    actor = ag.actors.add(body={"image": "gate:1"})
    first = ag.actors.sendMessage(actorId=actor.id, body={"message": "first"})
    assert gate.wait_entered(1)
    ag.actors.update(actorId=actor.id, body={"image": "gate:1", "force": True})
    second = ag.actors.sendMessage(actorId=actor.id, body={"message": "second"})
    try:
        assert gate.wait_entered(2)
    finally:
        gate.release.set()
    for sent in (first, second):
        assert ag.wait_for_execution(actor.id, sent.executionId, timeout=5).status == "COMPLETE"
