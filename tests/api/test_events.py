"""Events: what an actor with a `link` or a `webhook` tells when it becomes READY or ERROR
and when each of its executions finishes (ABACO_REFERENCE.md section 10).

A linked actor gets each event as a message, run for `Abaco Event`; a webhook gets it as
a JSON POST (here a small HTTP server on 127.0.0.1 in a thread of the test). Nothing is
ever sent to an address that is not loopback: the refused webhook names a TEST-NET
address (192.0.2.1) that the emulator must refuse before any connection.
"""
from __future__ import annotations

import ast
import logging
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from abaco_checks import TIME, WebhookReceiver, abaco_error, wait_until

EVENT_KEYS = {"tenant_id", "event_type", "event_time_utc", "event_time_display", "actor_id", "actor_dbid",
              "_abaco_link", "_abaco_webhook"}
EXTRA_KEYS = {"_abaco_Content_Type", "_abaco_username", "_abaco_api_server"}


class Recorder:
    """A handler that keeps what each execution saw, in the order the executions ran."""

    def __init__(self) -> None:
        self.runs: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, ctx):
        print("got", ctx["raw_message"])
        with self.lock:
            self.runs.append(dict(ctx))

    def of(self, actor_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [run for run in self.runs if run["_abaco_actor_id"] == actor_id]


@pytest.fixture
def recorder(ag):
    recorder = Recorder()
    ag.register_image("record:1", recorder)
    return recorder


def emulator_of(ag):
    """The emulator behind a transport (the in-process one is its own)."""
    return getattr(ag, "emulator", ag)


def run_one(ag, actor_id: str, message: str = "m"):
    sent = ag.actors.sendMessage(actorId=actor_id, body={"message": message})
    ag.wait_for_execution(actor_id, sent.executionId, timeout=10)
    ag.drain(10)
    return sent.executionId


def executions(ag, actor_id: str) -> list[dict]:
    return list(ag.actors.listExecutions(actorId=actor_id).executions)


# -- links -----------------------------------------------------------------------------

def test_a_linked_actor_gets_actor_ready_then_execution_complete_as_messages(ag, recorder):
    ag.register_image("quiet:1", lambda ctx: None)
    target = ag.actors.add(body={"image": "record:1"})
    source = ag.actors.add(body={"image": "quiet:1", "link": target.id})
    source_execution = run_one(ag, source.id)

    runs = recorder.of(target.id)
    assert [run["message_dict"]["event_type"] for run in runs] == ["ACTOR_READY", "EXECUTION_COMPLETE"]
    target_db_id = runs[0]["_abaco_actor_dbid"]
    for run in runs:
        event = ast.literal_eval(run["MSG"])  # the Python repr of the event, as Abaco sends it
        assert run["_abaco_Content_Type"] == "application/json"
        assert run["_abaco_username"] == "Abaco Event"
        assert event["tenant_id"] == "DEV-DEVELOP"
        assert event["actor_id"] == source.id
        assert event["actor_dbid"] == f"DEV-DEVELOP_{source.id}"
        assert event["_abaco_link"] == target_db_id == f"DEV-DEVELOP_{target.id}"
        assert event["_abaco_webhook"] == ""
        assert TIME.match(event["event_time_utc"]) and event["event_time_display"] == event["event_time_utc"]
    ready, complete = (ast.literal_eval(run["MSG"]) for run in runs)
    assert set(ready) == EVENT_KEYS | {"status_message"} and ready["status_message"] == " "
    assert set(complete) == EVENT_KEYS | {"execution_id", "status", "exit_code"}
    assert complete["execution_id"] == source_execution
    assert complete["status"] == "COMPLETE" and complete["exit_code"] == 0
    assert ready["event_time_utc"] <= complete["event_time_utc"]

    listed = executions(ag, target.id)
    assert [run["_abaco_execution_id"] for run in runs] == [e["id"] for e in listed]
    for execution in listed:
        shown = ag.actors.getExecution(actorId=target.id, executionId=execution["id"])
        assert shown.executor == "Abaco Event" and shown.status == "COMPLETE"


def test_event_times_follow_the_emulators_clock(ag, recorder):
    ag.advance_time(2 * 24 * 3600)
    target = ag.actors.add(body={"image": "record:1"})
    source = ag.actors.add(body={"image": "record:1", "link": target.id})
    run_one(ag, source.id)
    shown_created = ag.actors.get(actorId=source.id).createTime
    times = [run["message_dict"]["event_time_utc"] for run in recorder.of(target.id)]
    assert len(times) == 2 and all(t >= shown_created for t in times)
    moved = (datetime.now(timezone.utc) + timedelta(days=1, hours=23)).strftime("%Y-%m-%dT%H:%M")
    assert all(t > moved for t in times)


def test_an_execution_event_carries_the_exit_code_of_a_failed_execution(ag, recorder):
    def fail(ctx):
        raise SystemExit(3)
    ag.register_image("fail:1", fail)
    target = ag.actors.add(body={"image": "record:1"})
    source = ag.actors.add(body={"image": "fail:1", "link": target.id})
    failed = run_one(ag, source.id)
    shown = ag.actors.getExecution(actorId=source.id, executionId=failed)
    complete = recorder.of(target.id)[-1]["message_dict"]
    assert complete["event_type"] == "EXECUTION_COMPLETE" and complete["execution_id"] == failed
    assert complete["exit_code"] == shown.exitCode == 3
    assert complete["status"] == shown.status


def test_an_actor_that_goes_to_error_sends_actor_error_with_its_status_message(ag, recorder):
    target = ag.actors.add(body={"image": "record:1"})
    # The local runner has no such image: the actor goes to ERROR.
    broken = ag.actors.add(body={"image": "never/registered:1", "link": target.id})
    wait_until(lambda: ag.actors.get(actorId=broken.id).status == "ERROR", 10, "the actor's ERROR")
    ag.drain(10)
    events = [run["message_dict"] for run in recorder.of(target.id)]
    assert [e["event_type"] for e in events] == ["ACTOR_ERROR"]
    assert set(events[0]) == EVENT_KEYS | {"status_message"}
    assert events[0]["status_message"] == ag.actors.get(actorId=broken.id).statusMessage
    assert events[0]["status_message"].strip()


def test_a_link_may_name_the_linked_actor_by_alias(ag, recorder):
    ag.register_image("quiet:1", lambda ctx: None)
    target = ag.actors.add(body={"image": "record:1"})
    ag.actors.addAlias(body={"alias": "next-step", "actorId": target.id})
    source = ag.actors.add(body={"image": "quiet:1", "link": "next-step"})
    assert ag.actors.get(actorId=source.id).link == "next-step"
    executed = run_one(ag, source.id)
    events = [run["message_dict"] for run in recorder.of(target.id)]
    assert [e["event_type"] for e in events] == ["ACTOR_READY", "EXECUTION_COMPLETE"]
    assert {e["_abaco_link"] for e in events} == {f"DEV-DEVELOP_{target.id}"}  # resolved to the db id
    assert events[1]["execution_id"] == executed


def test_a_link_to_another_users_actor_needs_execute_and_then_runs_there(ag, recorder):
    bob = ag.as_user("bob")
    theirs = bob.actors.add(body={"image": "record:1"})
    with abaco_error(400, "Invalid link parameter", "EXECUTE"):
        ag.actors.add(body={"image": "record:1", "link": theirs.id})
    bob.actors.updatePermissions(actorId=theirs.id, body={"user": "testuser", "level": "EXECUTE"})
    mine = ag.actors.add(body={"image": "record:1", "link": theirs.id})
    executed = run_one(ag, mine.id)
    listed = bob.actors.listExecutions(actorId=theirs.id).executions
    assert len(listed) == 2
    assert recorder.of(theirs.id)[-1]["message_dict"]["execution_id"] == executed
    assert {bob.actors.getExecution(actorId=theirs.id, executionId=e["id"]).executor for e in listed} == \
        {"Abaco Event"}


def test_links_that_would_loop_are_refused(ag):
    ag.register_image("quiet:1", lambda ctx: None)
    first = ag.actors.add(body={"image": "quiet:1"})
    with abaco_error(400, "cannot link to itself"):
        ag.actors.update(actorId=first.id, body={"image": "quiet:1", "link": first.id})
    second = ag.actors.add(body={"image": "quiet:1", "link": first.id})
    with abaco_error(400, "cycle of linked actors"):
        ag.actors.update(actorId=first.id, body={"image": "quiet:1", "link": second.id})


def test_a_link_to_a_deleted_actor_breaks_nothing(ag, recorder, caplog):
    target = ag.actors.add(body={"image": "record:1"})
    source = ag.actors.add(body={"image": "record:1", "link": target.id})
    ag.drain(10)
    kept = ag.store.executions.by_actor(target.id)  # its ACTOR_READY event (Abaco keeps executions)
    ag.actors.delete(actorId=target.id)
    with caplog.at_level(logging.WARNING, logger="abaco_emulator.events"):
        first, second = run_one(ag, source.id, "one"), run_one(ag, source.id, "two")
    for execution_id in (first, second):
        shown = ag.actors.getExecution(actorId=source.id, executionId=execution_id)
        assert shown.status == "COMPLETE" and shown.exitCode == 0
    assert ag.actors.get(actorId=source.id).status == "READY"
    assert ag.store.executions.by_actor(target.id) == kept  # nothing was queued for the deleted actor
    assert any(target.id in record.getMessage() for record in caplog.records)


def test_events_follow_the_link_an_update_sets_or_removes(ag, recorder):
    first = ag.actors.add(body={"image": "record:1"})
    second = ag.actors.add(body={"image": "record:1"})
    source = ag.actors.add(body={"image": "record:1", "link": first.id})
    ag.drain(10)
    ag.actors.update(actorId=source.id, body={"image": "record:1", "link": second.id})
    moved = run_one(ag, source.id, "after the change")
    ag.actors.update(actorId=source.id, body={"image": "record:1", "link": ""})
    run_one(ag, source.id, "no link")
    to_first = [r["message_dict"] for r in recorder.of(first.id)]
    to_second = [r["message_dict"] for r in recorder.of(second.id)]
    assert [e["event_type"] for e in to_first] == ["ACTOR_READY"]
    assert [e.get("execution_id") for e in to_second if e["event_type"] == "EXECUTION_COMPLETE"] == [moved]
    assert {e["_abaco_link"] for e in to_second} == {f"DEV-DEVELOP_{second.id}"}


def test_actors_without_link_or_webhook_make_no_events(ag, recorder):
    """The linked actor itself has neither: its own executions tell nobody (no echo back)."""
    target = ag.actors.add(body={"image": "record:1"})
    plain = ag.actors.add(body={"image": "record:1"})
    source = ag.actors.add(body={"image": "record:1", "link": target.id})
    run_one(ag, plain.id)
    run_one(ag, source.id)
    ag.drain(10)
    assert [r["message_dict"].get("event_type") for r in recorder.of(target.id)] == \
        ["ACTOR_READY", "EXECUTION_COMPLETE"]
    assert len(executions(ag, plain.id)) == 1 and len(executions(ag, source.id)) == 1
    assert len(ag.store.executions.all()) == 4
    assert ag.store.events.all() == []  # no webhook POST waits


def test_a_chain_of_ten_linked_actors_delivers_every_event_in_order_under_eight_senders(ag, recorder):
    chain: list[str] = []
    for _ in range(10):  # from the end: each links to the one registered before it
        body = {"image": "record:1", **({"link": chain[0]} if chain else {})}
        chain.insert(0, ag.actors.add(body=body).id)
    ag.drain(10)
    senders, per_sender = 8, 5
    errors: list[BaseException] = []

    def send(sender: int) -> None:
        try:
            for n in range(per_sender):
                ag.actors.sendMessage(actorId=chain[0], body={"message": f"{sender}-{n}"})
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(s,)) for s in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    ag.drain(60)

    first = recorder.of(chain[0])
    assert sorted(run["MSG"] for run in first) == sorted(f"{s}-{n}" for s in range(senders) for n in range(per_sender))
    for upstream, downstream in zip(chain, chain[1:]):
        ran_upstream = [run["_abaco_execution_id"] for run in recorder.of(upstream)]
        runs = recorder.of(downstream)
        events = [run["message_dict"] for run in runs]
        strays = [(run["MSG"], run["_abaco_username"], run["raw_message_parse_log"]) for run in runs
                  if "event_type" not in run["message_dict"]]
        assert not strays, f"actor {chain.index(downstream)} of the chain ran messages that are no events: {strays}"
        # The upstream actor became READY before any of its executions finished; then one
        # EXECUTION_COMPLETE per execution, in the order they ran: no loss, no repeat.
        assert [e["event_type"] for e in events] == ["ACTOR_READY"] + ["EXECUTION_COMPLETE"] * len(ran_upstream)
        assert [e["execution_id"] for e in events[1:]] == ran_upstream
        assert all(e["actor_id"] == upstream for e in events)
        times = [e["event_time_utc"] for e in events]
        assert times == sorted(times)
    assert len(recorder.of(chain[-1])) == senders * per_sender + 9


# -- webhooks ----------------------------------------------------------------------------

@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def webhooks_sent(ag) -> None:
    """Wait until the emulator's outbox is empty: every webhook POST was made (or refused)."""
    wait_until(lambda: ag.store.events.all() == [], 15, "an empty webhook outbox")


def test_a_webhook_gets_each_event_as_a_json_post_with_abacos_extra_keys(ag, receiver):
    ag.register_image("quiet:1", lambda ctx: None)
    actor = ag.actors.add(body={"image": "quiet:1", "webhook": receiver.url})
    executed = run_one(ag, actor.id)
    ready, complete = receiver.wait_for(2)
    webhooks_sent(ag)
    assert len(receiver.posts) == 2
    path, headers, _ = receiver.posts[0]
    assert path == "/hook" and headers["Content-Type"] == "application/json"
    assert set(ready) == EVENT_KEYS | EXTRA_KEYS | {"status_message"}
    assert set(complete) == EVENT_KEYS | EXTRA_KEYS | {"execution_id", "status", "exit_code"}
    for event in (ready, complete):
        assert event["_abaco_Content_Type"] == "application/json"
        assert event["_abaco_username"] == "Abaco Event"
        assert event["_abaco_api_server"] == ag.actors.getExecution(actorId=actor.id, executionId=executed).apiServer
        assert event["_abaco_webhook"] == receiver.url and event["_abaco_link"] == ""
        assert event["actor_id"] == actor.id and event["tenant_id"] == "DEV-DEVELOP"
    assert ready["event_type"] == "ACTOR_READY" and complete["event_type"] == "EXECUTION_COMPLETE"
    assert complete["execution_id"] == executed and complete["exit_code"] == 0


def test_a_webhook_of_a_linked_actor_names_the_link_execution(ag, recorder, receiver):
    target = ag.actors.add(body={"image": "record:1"})
    source = ag.actors.add(body={"image": "record:1", "link": target.id, "webhook": receiver.url})
    run_one(ag, source.id)
    posted = receiver.wait_for(2)
    ag.drain(10)
    runs = recorder.of(target.id)
    assert [p["_abaco_execution_id"] for p in posted] == [r["_abaco_execution_id"] for r in runs]
    for post, run in zip(posted, runs):
        assert post["_abaco_link"] == f"DEV-DEVELOP_{target.id}"
        # The linked actor's message is the event without the webhook's extra keys.
        assert {k: v for k, v in post.items() if k not in EXTRA_KEYS | {"_abaco_execution_id"}} == \
            ast.literal_eval(run["MSG"])


@pytest.mark.parametrize("failure", ["500 answer", "refused port"])
def test_a_failing_webhook_leaves_the_actor_and_its_executions_fine(ag, receiver, caplog, failure):
    ag.register_image("quiet:1", lambda ctx: None)
    if failure == "500 answer":
        receiver.status = 500
        url = receiver.url
    else:
        url = receiver.url
        receiver.close()  # nothing listens there any more
    with caplog.at_level(logging.WARNING, logger="abaco_emulator.events"):
        actor = ag.actors.add(body={"image": "quiet:1", "webhook": url})
        executed = [run_one(ag, actor.id, str(n)) for n in range(2)]
        webhooks_sent(ag)
    assert ag.actors.get(actorId=actor.id).status == "READY"
    assert [ag.actors.getExecution(actorId=actor.id, executionId=e).status for e in executed] == ["COMPLETE"] * 2
    failed = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert len(failed) == 3 and all(url in line for line in failed)  # READY and two executions
    if failure == "500 answer":
        assert len(receiver.posts) == 3


def test_a_slow_webhook_never_delays_the_actors_executions(ag, receiver):
    """The POSTs are made by the emulator's sender, not by the execution that caused them."""
    answered = receiver.hold = threading.Event()  # held until the test has seen every execution finish
    ag.register_image("quiet:1", lambda ctx: None)
    actor = ag.actors.add(body={"image": "quiet:1", "webhook": receiver.url})
    try:
        for n in range(3):
            sent = ag.actors.sendMessage(actorId=actor.id, body={"message": str(n)})
            assert ag.wait_for_execution(actor.id, sent.executionId, timeout=3).status == "COMPLETE"
        assert receiver.posts == []
    finally:
        answered.set()
    assert [e["event_type"] for e in receiver.wait_for(4)] == ["ACTOR_READY"] + ["EXECUTION_COMPLETE"] * 3


def test_a_webhook_to_another_address_is_not_sent_without_allow_remote_webhooks(ag, caplog):
    ag.register_image("quiet:1", lambda ctx: None)
    remote = "http://192.0.2.1/hook"  # TEST-NET-1: refused before any connection is tried
    with caplog.at_level(logging.WARNING, logger="abaco_emulator.events"):
        actor = ag.actors.add(body={"image": "quiet:1", "webhook": remote})
        assert ag.actors.get(actorId=actor.id).webhook == remote
        run_one(ag, actor.id)
        webhooks_sent(ag)
    lines = [r.getMessage() for r in caplog.records]
    refused = [line for line in lines if "not a loopback address" in line]
    assert len(refused) == 2 and all(remote in line and actor.id in line for line in refused)
    assert not any("failed" in line for line in lines)  # never tried
    assert ag.actors.get(actorId=actor.id).status == "READY"


def test_a_webhook_that_answers_a_redirect_is_not_followed(ag, receiver):
    """A loopback URL may redirect anywhere: without allow_remote_webhooks the emulator
    follows no redirect (here to a second loopback receiver, which must get nothing)."""
    elsewhere = WebhookReceiver()
    try:
        receiver.status, receiver.location = 307, elsewhere.url
        ag.register_image("quiet:1", lambda ctx: None)
        actor = ag.actors.add(body={"image": "quiet:1", "webhook": receiver.url})
        run_one(ag, actor.id)
        receiver.wait_for(2)
        webhooks_sent(ag)
        assert elsewhere.posts == []
        assert ag.actors.get(actorId=actor.id).status == "READY"
    finally:
        elsewhere.close()


@pytest.mark.transports("agavepy", reason="the webhook is the served emulator's own URL")
def test_a_webhook_to_the_emulators_own_messages_url_with_a_nonce_runs_the_target(ag, recorder):
    """As Abaco's own suite does: the event reaches another actor through its nonce URL."""
    target = ag.actors.add(body={"image": "record:1"})
    nonce = ag.actors.addNonce(actorId=target.id, body={"maxUses": -1, "level": "EXECUTE"})
    webhook = f"{ag.url}/actors/v2/{target.id}/messages?x-nonce={nonce.id}"
    ag.register_image("quiet:1", lambda ctx: None)
    source = ag.actors.add(body={"image": "quiet:1", "webhook": webhook})
    wait_until(lambda: executions(ag, target.id), 10, "the target's execution")
    webhooks_sent(ag)
    ag.drain(10)
    first = executions(ag, target.id)[0]["id"]
    logs = ag.actors.getExecutionLogs(actorId=target.id, executionId=first).logs
    assert "'event_type': 'ACTOR_READY'" in logs and f"'actor_id': '{source.id}'" in logs
