"""Messages, mailboxes and executions: sendMessage, sendBinaryMessage, getMessages,
deleteMessages, listExecutions, getExecution, getExecutionLogs, getOneExecutionResult."""
from __future__ import annotations

import pytest
import requests

from abaco_emulator import AttrDict

from abaco_checks import ID, TIME, Gate, abaco_error, assert_camel_model, echo
from api_transports import api_path

EXECUTION_KEYS = ["id", "actorId", "apiServer", "executor", "workerId", "status", "messageReceivedTime",
                  "startTime", "finishTime", "runtime", "cpu", "io", "exitCode", "finalState", "_links"]


@pytest.fixture
def actor(ag):
    ag.register_image("demo/echo:1", echo)
    return ag.actors.add(body={"image": "demo/echo:1", "name": "echo"})


@pytest.fixture
def gate(ag):
    gate = Gate()
    ag.register_image("gate:1", gate)
    yield gate
    gate.release.set()


def run(ag, actor_id, body=None, **kwargs):
    sent = ag.actors.sendMessage(actorId=actor_id, body=body if body is not None else {"message": "m"}, **kwargs)
    return ag.wait_for_execution(actor_id, sent.executionId, timeout=5)


# -- sending -------------------------------------------------------------------------

def test_send_message_answers_execution_id_msg_and_links(ag, actor):
    sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "hello"})
    assert_camel_model(sent, ["executionId", "msg", "_links"])
    assert ID.match(sent.executionId)
    assert sent.msg == "hello"
    assert sent._links["self"].endswith(f"{api_path(ag)}/{actor.id}/executions/{sent.executionId}")
    assert sent._links["messages"].endswith(f"{api_path(ag)}/{actor.id}/messages")
    assert sent._links["owner"].endswith("/testuser")


def test_send_message_accepts_json_text_body(ag, actor):
    sent = ag.actors.sendMessage(actorId=actor.id, body='{"message": "as text"}')
    assert sent.msg == "as text"
    ex = ag.wait_for_execution(actor.id, sent.executionId, timeout=5)
    assert "got as text" in ag.actors.getExecutionLogs(actorId=actor.id, executionId=ex.id).logs


def test_send_json_message_without_message_key_sends_the_whole_object(ag):
    seen = []
    ag.register_image("seen:1", lambda ctx: seen.append(ctx))
    actor = ag.actors.add(body={"image": "seen:1"})
    sent = ag.actors.sendMessage(actorId=actor.id, body={"a": 1, "flag": True, "none": None})
    assert sent.msg == {"a": 1, "flag": True, "none": None}
    ag.wait_for_execution(actor.id, sent.executionId, timeout=5)
    ctx = seen[0]
    assert ctx.content_type == "application/json"
    assert ctx["_abaco_Content_Type"] == "application/json"
    assert ctx.message_dict == {"a": 1, "flag": True, "none": None}


def test_send_plain_string_message_has_content_type_str(ag):
    seen = []
    ag.register_image("seen:1", lambda ctx: seen.append(ctx))
    actor = ag.actors.add(body={"image": "seen:1"})
    run(ag, actor.id, {"message": "plain"})
    assert seen[0].content_type == "str"
    assert seen[0]["MSG"] == "plain"
    assert seen[0].raw_message == "plain"


def test_send_binary_message_answers_binary_omitted_and_delivers_bytes(ag):
    seen = []
    ag.register_image("seen:1", lambda ctx: seen.append(ctx))
    actor = ag.actors.add(body={"image": "seen:1"})
    payload = bytes(range(256)) * 4
    sent = ag.actors.sendBinaryMessage(actorId=actor.id, message=payload)
    assert_camel_model(sent, ["executionId", "msg", "_links"])
    assert sent.msg == "binary - omitted"
    ag.wait_for_execution(actor.id, sent.executionId, timeout=5)
    ctx = seen[0]
    assert ctx.binary == payload
    assert ctx.content_type == "application/octet-stream"
    assert "MSG" not in ctx


def test_send_message_environment_reaches_the_execution(ag):
    seen = []
    ag.register_image("seen:1", lambda ctx: seen.append(ctx))
    actor = ag.actors.add(body={"image": "seen:1"})
    run(ag, actor.id, {"message": "m"}, environment={"K": "v", "N": 5})
    assert seen[0]["K"] == "v"
    assert seen[0]["N"] == "5"


def test_send_binary_message_environment_reaches_the_execution(ag):
    seen = []
    ag.register_image("seen:1", lambda ctx: seen.append(ctx))
    actor = ag.actors.add(body={"image": "seen:1"})
    sent = ag.actors.sendBinaryMessage(actorId=actor.id, message=b"\x00\x01", environment={"K": "bin"})
    ag.wait_for_execution(actor.id, sent.executionId, timeout=5)
    assert seen[0]["K"] == "bin"


@pytest.mark.parametrize("body", ["not json at all", "[1, 2", 5, "5", "true"])
def test_send_message_that_is_not_json_object_is_400(ag, actor, body):
    with abaco_error(400, "could not be serialized"):
        ag.actors.sendMessage(actorId=actor.id, body=body)


def test_a_non_string_message_field_is_read_as_its_string(ag, actor):
    """Abaco reads `message` with type=str: 5 is "5", an object its Python repr (python-reactors sends dicts so)."""
    sent = ag.actors.sendMessage(actorId=actor.id, body={"message": 5})
    assert sent.msg == "5"
    ag.wait_for_execution(actor.id, sent.executionId, timeout=5)
    assert "got 5" in ag.actors.getExecutionLogs(actorId=actor.id, executionId=sent.executionId).logs
    nested = ag.actors.sendMessage(actorId=actor.id, body={"message": {"k": [1, True]}})
    assert nested.msg == "{'k': [1, True]}"


@pytest.mark.transports("in-process", reason="agavepy 0.9.5 refuses sendMessage without body= before any request")
def test_send_message_without_body_is_400(ag, actor):
    with abaco_error(400, "message"):
        ag.actors.sendMessage(actorId=actor.id)


def test_send_message_with_bad_environment_name_is_400(ag, actor):
    with abaco_error(400, "A=B"):
        ag.actors.sendMessage(actorId=actor.id, body={"message": "m"}, environment={"A=B": "x"})


def test_send_message_to_unknown_actor_is_404_naming_it(ag):
    with abaco_error(404, "Actor with identifier 'AAAAAAAAAAAAA' not found"):
        ag.actors.sendMessage(actorId="AAAAAAAAAAAAA", body={"message": "m"})


def test_send_message_needs_execute_and_runs_as_sender(ag, actor):
    reader, runner = ag.as_user("reader"), ag.as_user("runner")
    ag.actors.updatePermissions(actorId=actor.id, body={"user": "reader", "level": "READ"})
    ag.actors.updatePermissions(actorId=actor.id, body={"user": "runner", "level": "EXECUTE"})
    with abaco_error(400, "Not authorized"):
        reader.actors.sendMessage(actorId=actor.id, body={"message": "m"})
    sent = runner.actors.sendMessage(actorId=actor.id, body={"message": "m"})
    ex = runner.wait_for_execution(actor.id, sent.executionId, timeout=5)
    assert ex.executor == "runner"
    assert ex._links["owner"].endswith("/runner")


# -- the mailbox ---------------------------------------------------------------------

def test_get_messages_counts_queued_messages(ag, gate):
    actor = ag.actors.add(body={"image": "gate:1", "stateless": False})
    counted = ag.actors.getMessages(actorId=actor.id)
    assert_camel_model(counted, ["messages", "_links"])
    assert counted.messages == 0
    ag.actors.sendMessage(actorId=actor.id, body={"message": "1"})
    assert gate.wait_entered(1)
    for i in range(3):
        ag.actors.sendMessage(actorId=actor.id, body={"message": f"q{i}"})
    assert ag.actors.getMessages(actorId=actor.id).messages == 3
    gate.release.set()
    ag.drain(5)
    assert ag.actors.getMessages(actorId=actor.id).messages == 0


def test_delete_messages_purges_the_mailbox_and_purged_messages_never_run(ag, gate):
    actor = ag.actors.add(body={"image": "gate:1", "stateless": False})
    ag.actors.sendMessage(actorId=actor.id, body={"message": "running"})
    assert gate.wait_entered(1)
    for i in range(3):
        ag.actors.sendMessage(actorId=actor.id, body={"message": f"q{i}"})
    purged = ag.actors.deleteMessages(actorId=actor.id)
    assert purged["msg"] == "Actor mailbox purged." and purged["_links"]["self"].endswith(f"/{actor.id}/messages")
    assert ag.actors.getMessages(actorId=actor.id).messages == 0
    gate.release.set()
    ag.drain(5)
    assert gate.entered == ["running"]
    after = ag.actors.sendMessage(actorId=actor.id, body={"message": "after"})
    assert ag.wait_for_execution(actor.id, after.executionId, timeout=5).status == "COMPLETE"


def test_delete_messages_needs_update(ag, actor):
    ag.actors.updatePermissions(actorId=actor.id, body={"user": "runner", "level": "EXECUTE"})
    with abaco_error(400, "Not authorized"):
        ag.as_user("runner").actors.deleteMessages(actorId=actor.id)


# -- executions ----------------------------------------------------------------------

def test_execution_has_every_field_in_camelcase(ag, actor):
    sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "m"})
    ex = ag.wait_for_execution(actor.id, sent.executionId, timeout=5)
    assert_camel_model(ex, EXECUTION_KEYS)
    assert ex.id == sent.executionId
    assert ex.actorId == actor.id
    assert ex.executor == "testuser"
    assert ex.status == "COMPLETE"
    assert ex.exitCode == 0 and isinstance(ex.exitCode, int)
    assert isinstance(ex.runtime, int) and ex.runtime >= 0
    assert isinstance(ex.cpu, int) and isinstance(ex.io, int)
    for key in ("messageReceivedTime", "startTime", "finishTime"):
        assert TIME.match(ex[key]), (key, ex[key])
    assert ex.messageReceivedTime <= ex.startTime <= ex.finishTime
    assert ex.finalState["ExitCode"] == 0
    assert ex.finalState["Status"] == "exited"
    assert "StartedAt" in ex.finalState and "FinishedAt" in ex.finalState
    assert ex.workerId in {w.id for w in ag.actors.listWorkers(actorId=actor.id)}
    assert ex._links["self"].endswith(f"{api_path(ag)}/{actor.id}/executions/{ex.id}")
    assert ex._links["logs"].endswith(f"{api_path(ag)}/{actor.id}/executions/{ex.id}/logs")


@pytest.mark.transports("in-process", reason="checks the facade's own AttrDict class; agavepy answers with agavepy.agave.AttrDict")
def test_get_execution_equals_what_wait_for_execution_returns(ag, actor):
    ex = run(ag, actor.id)
    got = ag.actors.getExecution(actorId=actor.id, executionId=ex.id)
    assert isinstance(got, AttrDict)
    assert got == ex


def test_execution_goes_submitted_running_complete(ag, gate):
    actor = ag.actors.add(body={"image": "gate:1", "stateless": False})
    first = ag.actors.sendMessage(actorId=actor.id, body={"message": "1"})
    second = ag.actors.sendMessage(actorId=actor.id, body={"message": "2"})
    assert gate.wait_entered(1)
    running = ag.actors.getExecution(actorId=actor.id, executionId=first.executionId)
    waiting = ag.actors.getExecution(actorId=actor.id, executionId=second.executionId)
    assert running.status == "RUNNING"
    assert TIME.match(running.startTime) and "finishTime" not in running
    assert waiting.status == "SUBMITTED"
    assert "startTime" not in waiting and "exitCode" not in waiting
    gate.release.set()
    assert ag.wait_for_execution(actor.id, second.executionId, timeout=5).status == "COMPLETE"


def test_nonzero_exit_code_still_complete(ag):
    def fails(ctx):
        raise SystemExit(3)
    ag.register_image("fails:1", fails)
    actor = ag.actors.add(body={"image": "fails:1"})
    ex = run(ag, actor.id)
    assert ex.status == "COMPLETE"
    assert ex.exitCode == 3
    assert ex.finalState["ExitCode"] == 3


def test_execution_is_error_when_the_runner_cannot_run_it(ag, tmp_path):
    ag.register_image("broken:1", command=[str(tmp_path / "does-not-exist")])
    actor = ag.actors.add(body={"image": "broken:1"})
    ex = run(ag, actor.id)
    assert ex.status == "ERROR"
    logs = ag.actors.getExecutionLogs(actorId=actor.id, executionId=ex.id).logs
    assert "does-not-exist" in logs


def test_get_execution_unknown_is_400_naming_actor_and_execution(ag, actor):
    with abaco_error(400, f"No executions found with actor id of {actor.id} and execution id of NOPE."):
        ag.actors.getExecution(actorId=actor.id, executionId="NOPE")


def test_get_execution_of_another_actor_is_400(ag, actor):
    other = ag.actors.add(body={"image": "demo/echo:1"})
    ex = run(ag, other.id)
    with abaco_error(400, ex.id):
        ag.actors.getExecution(actorId=actor.id, executionId=ex.id)


def test_execution_reads_need_read_permission(ag, actor):
    ex = run(ag, actor.id)
    stranger = ag.as_user("stranger")
    for call in (lambda: stranger.actors.getExecution(actorId=actor.id, executionId=ex.id),
                 lambda: stranger.actors.getExecutionLogs(actorId=actor.id, executionId=ex.id),
                 lambda: stranger.actors.getOneExecutionResult(actorId=actor.id, executionId=ex.id),
                 lambda: stranger.actors.listExecutions(actorId=actor.id)):
        with abaco_error(400, "Not authorized"):
            call()


# -- logs ----------------------------------------------------------------------------

def test_get_execution_logs_answers_logs_and_links(ag, actor):
    ex = run(ag, actor.id, {"message": "hello"})
    logs = ag.actors.getExecutionLogs(actorId=actor.id, executionId=ex.id)
    assert_camel_model(logs, ["logs", "_links"])
    assert logs.logs == "got hello\n"
    assert logs._links["execution"].endswith(f"{api_path(ag)}/{actor.id}/executions/{ex.id}")


def test_logs_are_empty_string_when_nothing_printed(ag):
    ag.register_image("quiet:1", lambda ctx: None)
    actor = ag.actors.add(body={"image": "quiet:1"})
    ex = run(ag, actor.id)
    assert ag.actors.getExecutionLogs(actorId=actor.id, executionId=ex.id).logs == ""


def test_logs_of_unknown_execution_is_400(ag, actor):
    with abaco_error(400, "NOPE"):
        ag.actors.getExecutionLogs(actorId=actor.id, executionId="NOPE")


def test_logs_are_truncated_at_the_abaco_limit(ag):
    ag.register_image("loud:1", lambda ctx: print("x" * 1_200_000))
    actor = ag.actors.add(body={"image": "loud:1"})
    ex = run(ag, actor.id)
    logs = ag.actors.getExecutionLogs(actorId=actor.id, executionId=ex.id).logs
    suffix = " LOG LIMIT EXCEEDED; this execution log was TRUNCATED!"
    assert logs.endswith(suffix)
    assert len(logs) == 1_000_000 + len(suffix)


# -- results -------------------------------------------------------------------------

def test_get_one_execution_result_returns_response_with_raw_bytes_in_order(ag):
    def results(ctx):
        ctx.send_result(b"\x00first")
        ctx.send_result(b"\xffsecond")
        return "third"
    ag.register_image("results:1", results)
    actor = ag.actors.add(body={"image": "results:1"})
    ex = run(ag, actor.id)
    answers = [ag.actors.getOneExecutionResult(actorId=actor.id, executionId=ex.id) for _ in range(4)]
    for answer in answers:
        assert isinstance(answer, requests.Response)
        assert answer.status_code == 200
        assert answer.ok
    assert [a.content for a in answers] == [b"\x00first", b"\xffsecond", b"third", b""]


def test_get_one_execution_result_is_empty_without_results(ag):
    ag.register_image("quiet:1", lambda ctx: None)
    actor = ag.actors.add(body={"image": "quiet:1"})
    ex = run(ag, actor.id)
    assert ag.actors.getOneExecutionResult(actorId=actor.id, executionId=ex.id).content == b""


def test_get_one_execution_result_of_unknown_execution_is_400(ag, actor):
    with abaco_error(400, "NOPE"):
        ag.actors.getOneExecutionResult(actorId=actor.id, executionId="NOPE")


# -- the executions summary ----------------------------------------------------------

def test_list_executions_summary_with_totals(ag, actor):
    executions = [run(ag, actor.id, {"message": str(i)}) for i in range(3)]
    summary = ag.actors.listExecutions(actorId=actor.id)
    assert_camel_model(summary, ["actorId", "apiServer", "owner", "totalExecutions", "totalCpu", "totalIo",
                                 "totalRuntime", "executions", "_links"])
    assert summary.actorId == actor.id
    assert summary.owner == "testuser"
    assert summary.totalExecutions == 3
    assert summary.totalCpu == sum(e.cpu for e in executions)
    assert summary.totalCpu > 0
    assert summary.totalIo == sum(e.io for e in executions)
    assert summary.totalRuntime == sum(e.runtime for e in executions)
    assert [e["id"] for e in summary.executions] == [e.id for e in executions]
    for item, full in zip(summary.executions, executions):
        assert set(item) == {"id", "status", "startTime", "finishTime", "messageReceivedTime"}
        assert item["status"] == "COMPLETE"
        assert item["finishTime"] == full.finishTime


def test_list_executions_empty(ag, actor):
    summary = ag.actors.listExecutions(actorId=actor.id)
    assert summary.totalExecutions == 0
    assert summary.executions == []
    assert summary.totalCpu == 0 and summary.totalRuntime == 0


@pytest.mark.transports("in-process", reason="agavepy 0.9.5's actors.listExecutions takes no q or skip")
def test_list_executions_with_paging_parameters_is_a_search_as_on_abaco(ag, actor):
    """Any query parameter turns the executions summary into a search of them (ActorsResource.get)."""
    ids = [run(ag, actor.id).id for _ in range(5)]
    page = ag.actors.listExecutions(actorId=actor.id, limit=2, skip=1)
    assert [e["id"] for e in page.search] == ids[1:3]
    assert page._metadata == {"totalCount": 5, "recordsSkipped": 1, "recordLimit": 2, "countReturned": 2}
    assert [e["id"] for e in ag.actors.listExecutions(actorId=actor.id, skip=3).search] == ids[3:]
    assert ag.actors.listExecutions(actorId=actor.id).totalExecutions == 5


@pytest.mark.transports("in-process", reason="agavepy 0.9.5's actors.listExecutions takes no q or skip")
def test_list_executions_filters_with_mongo_query(ag):
    def exit_with(ctx):
        raise SystemExit(int(ctx.raw_message))
    ag.register_image("exit:1", exit_with)
    actor = ag.actors.add(body={"image": "exit:1"})
    ids = [run(ag, actor.id, {"message": str(code)}).id for code in (0, 1, 2, 3)]
    def matching(q):
        return [e["id"] for e in ag.actors.listExecutions(actorId=actor.id, q=q).search]
    assert matching({"exitCode": {"$gte": 2}}) == ids[2:]
    assert matching({"finalState.ExitCode": {"$lt": 1}}) == ids[:1]
    assert matching({"final_state.ExitCode": {"$in": [1, 3]}}) == [ids[1], ids[3]]
    assert matching('{"status": "COMPLETE", "exit_code": {"$ne": 0}}') == ids[1:]
    assert matching({"id": ids[2]}) == [ids[2]]


def test_list_executions_of_unknown_actor_is_404_naming_it(ag):
    with abaco_error(404, "Actor with identifier 'AAAAAAAAAAAAA' not found"):
        ag.actors.listExecutions(actorId="AAAAAAAAAAAAA")
