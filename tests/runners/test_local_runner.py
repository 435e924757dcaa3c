"""The local runner: registered handlers and commands under the Abaco container contract."""
from __future__ import annotations

import ast
import os
import pickle
import subprocess
import sys
import threading

import pytest

from abaco_emulator import AttrDict, serve

from abaco_checks import all_results, echo

CONTRACT_VARIABLES = [
    "_abaco_username", "_abaco_api_server", "_abaco_execution_id", "_abaco_Content_Type",
    "_abaco_actor_revision", "_abaco_access_token", "_abaco_actor_dbid",
    "_abaco_actor_id", "_abaco_worker_id", "_abaco_container_repo", "_abaco_actor_state",
    "_abaco_actor_name", "MSG",
]


@pytest.fixture
def contexts(ag):
    """An image "ctx:1" whose executions record the context they got."""
    seen = []
    ag.register_image("ctx:1", lambda ctx: seen.append(ctx))
    return seen


def run(ag, actor_id, body=None, **kwargs):
    sent = ag.actors.sendMessage(actorId=actor_id, body=body if body is not None else {"message": "m"}, **kwargs)
    return ag.wait_for_execution(actor_id, sent.executionId, timeout=5)


def logs_of(ag, actor_id, execution_id):
    return ag.actors.getExecutionLogs(actorId=actor_id, executionId=execution_id).logs


# -- the context -----------------------------------------------------------------------

def test_context_has_what_agavepy_get_context_gives(ag, contexts):
    actor = ag.actors.add(body={"image": "ctx:1", "name": "ctxer"})
    ex = run(ag, actor.id, {"message": "hello"})
    ctx = contexts[0]
    assert isinstance(ctx, AttrDict)
    assert ctx.raw_message == "hello"
    assert ctx.content_type == "str"
    assert ctx.execution_id == ex.id
    assert ctx.username == "testuser"
    assert ctx.actor_id == actor.id
    assert ctx.actor_dbid and actor.id in ctx.actor_dbid
    assert ctx.state == ctx["_abaco_actor_state"]
    assert ctx.message_dict == {}
    assert "raw_message_parse_log" in ctx
    for name in CONTRACT_VARIABLES:
        assert name in ctx, name
        assert isinstance(ctx[name], str), name
    assert ctx["_abaco_Content_Type"] == "str" and "_abaco_Content-Type" not in ctx  # as Abaco's worker sets
    assert ctx["_abaco_worker_id"] == ex.workerId
    assert ctx["_abaco_container_repo"] == "ctx:1"
    assert ctx["_abaco_actor_name"] == "ctxer"
    assert ctx["_abaco_actor_revision"] == "1"
    assert ctx["_abaco_api_server"].startswith("http")
    assert ctx["_abaco_access_token"]


def test_context_username_is_the_sender(ag, contexts):
    actor = ag.actors.add(body={"image": "ctx:1"})
    ag.actors.updatePermissions(actorId=actor.id, body={"user": "sender", "level": "EXECUTE"})
    sender = ag.as_user("sender")
    sent = sender.actors.sendMessage(actorId=actor.id, body={"message": "m"})
    sender.wait_for_execution(actor.id, sent.executionId, timeout=5)
    assert contexts[0].username == "sender"
    assert contexts[0]["_abaco_username"] == "sender"


def test_message_dict_comes_from_a_json_message(ag, contexts):
    actor = ag.actors.add(body={"image": "ctx:1"})
    run(ag, actor.id, {"key": "value", "n": [1, 2], "ok": False, "nothing": None})
    ctx = contexts[0]
    assert ctx.message_dict == {"key": "value", "n": [1, 2], "ok": False, "nothing": None}
    assert isinstance(ctx.message_dict, AttrDict)
    assert ctx.message_dict.key == "value"


def test_message_dict_comes_from_a_string_message_holding_a_dict(ag, contexts):
    actor = ag.actors.add(body={"image": "ctx:1"})
    run(ag, actor.id, {"message": '{"x": 1}'})
    assert contexts[0].message_dict == {"x": 1}


def test_context_access_token_is_revoked_after_the_execution(ag, contexts):
    actor = ag.actors.add(body={"image": "ctx:1"})
    run(ag, actor.id)
    token = contexts[0]["_abaco_access_token"]
    assert ag.tokens.caller_for(token) is None


def test_environment_order_default_then_message_then_abaco(ag, contexts):
    actor = ag.actors.add(body={"image": "ctx:1", "defaultEnvironment": {
        "A": "default", "B": "default", "_abaco_actor_id": "forged", "MSG": "forged"}})
    run(ag, actor.id, {"message": "real"}, environment={"B": "message", "C": "message",
                                                        "_abaco_username": "forged"})
    ctx = contexts[0]
    assert ctx["A"] == "default"
    assert ctx["B"] == "message"
    assert ctx["C"] == "message"
    assert ctx["_abaco_actor_id"] == actor.id
    assert ctx["_abaco_username"] == "testuser"
    assert ctx["MSG"] == "real"


def test_binary_message_reaches_ctx_binary_and_string_message_has_none(ag, contexts):
    actor = ag.actors.add(body={"image": "ctx:1"})
    sent = ag.actors.sendBinaryMessage(actorId=actor.id, message=b"\x00\xffraw")
    ag.wait_for_execution(actor.id, sent.executionId, timeout=5)
    run(ag, actor.id, {"message": "text"})
    assert contexts[0].binary == b"\x00\xffraw"
    assert contexts[0].content_type == "application/octet-stream"
    assert contexts[0].raw_message is None
    assert contexts[1].binary is None


def test_state_reaches_the_context_as_abacos_worker_writes_it(ag, contexts):
    actor = ag.actors.add(body={"image": "ctx:1", "stateless": False})
    ag.actors.updateState(actorId=actor.id, body={"count": 7, "ok": True})
    run(ag, actor.id)
    assert contexts[0]["_abaco_actor_state"] == "{'count': 7, 'ok': True}"  # str(state), not JSON


# -- results, state and output -----------------------------------------------------------

def test_send_result_and_return_value_are_results_in_order(ag):
    def handler(ctx):
        ctx.send_result(b"one")
        ctx.send_result(b"two")
        return b"three"
    ag.register_image("r:1", handler)
    actor = ag.actors.add(body={"image": "r:1"})
    ex = run(ag, actor.id)
    got = [ag.actors.getOneExecutionResult(actorId=actor.id, executionId=ex.id).content for _ in range(4)]
    assert got == [b"one", b"two", b"three", b""]


def test_returned_str_is_a_utf8_result_and_none_is_no_result(ag):
    ag.register_image("s:1", lambda ctx: "héllo")
    ag.register_image("n:1", lambda ctx: None)
    s = ag.actors.add(body={"image": "s:1"})
    n = ag.actors.add(body={"image": "n:1"})
    ex_s, ex_n = run(ag, s.id), run(ag, n.id)
    assert ag.actors.getOneExecutionResult(actorId=s.id, executionId=ex_s.id).content == "héllo".encode()
    assert ag.actors.getOneExecutionResult(actorId=n.id, executionId=ex_n.id).content == b""


def test_update_state_from_handler_is_the_actor_state(ag):
    def counter(ctx):
        count = ast.literal_eval(ctx.state).get("count", 0)  # Abaco's worker passes str(state)
        ctx.update_state({"count": count + 1})
    ag.register_image("counter:1", counter)
    actor = ag.actors.add(body={"image": "counter:1", "stateless": False})
    for _ in range(3):
        run(ag, actor.id)
    assert ag.actors.getState(actorId=actor.id).state == {"count": 3}


def test_printed_output_and_stderr_are_the_logs(ag):
    def loud(ctx):
        print("to stdout")
        print("to stderr", file=sys.stderr)
    ag.register_image("loud:1", loud)
    actor = ag.actors.add(body={"image": "loud:1"})
    ex = run(ag, actor.id)
    logs = logs_of(ag, actor.id, ex.id)
    assert "to stdout\n" in logs and "to stderr\n" in logs


def test_output_is_captured_per_execution_when_several_run_at_once(ag, admin):
    barrier = threading.Barrier(4, timeout=5)

    def chatty(ctx):
        me = ctx.raw_message
        for i in range(50):
            print(f"{me}:{i}")
            if i == 10:
                barrier.wait()  # all four are printing at the same time
        print(f"{me}:err", file=sys.stderr)
    ag.register_image("chatty:1", chatty)
    actor = ag.actors.add(body={"image": "chatty:1"})
    admin.actors.addWorker(actorId=actor.id, body={"num": 4})
    sent = {name: ag.actors.sendMessage(actorId=actor.id, body={"message": name}).executionId
            for name in ("a", "b", "c", "d")}
    for name, execution_id in sent.items():
        ag.wait_for_execution(actor.id, execution_id, timeout=10)
        lines = logs_of(ag, actor.id, execution_id).splitlines()
        assert lines == [f"{name}:{i}" for i in range(50)] + [f"{name}:err"]
    assert not barrier.broken


def test_output_of_handlers_does_not_leak_and_stdout_is_restored(ag, capsys):
    before = sys.stdout
    ag.register_image("echo:1", echo)
    actor = ag.actors.add(body={"image": "echo:1"})
    run(ag, actor.id, {"message": "secret"})
    ag.drain(5)
    assert sys.stdout is before
    assert "secret" not in capsys.readouterr().out


PRINTING_WHILE_HANDLERS_RUN = """
import sys, threading, time
from abaco_emulator import AbacoEmulator
with AbacoEmulator(runner="local") as ag:
    ag.register_image("quiet:1", lambda ctx: None)
    actor = ag.actors.add(body={"image": "quiet:1"})
    ag.as_user("root", roles=["Internal/abaco-admin"]).actors.addWorker(actorId=actor.id, body={"num": 3})
    stop = threading.Event()
    def send():
        while not stop.is_set():
            sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "m"})
            ag.wait_for_execution(actor.id, sent.executionId, timeout=10)
    senders = [threading.Thread(target=send) for _ in range(4)]
    for sender in senders:
        sender.start()
    end = time.monotonic() + 4
    while time.monotonic() < end:
        print(*["x"] * 200)  # 400 writes to sys.stdout per print: a wide window
    stop.set()
    for sender in senders:
        sender.join()
print("done", file=sys.stderr)
"""


def test_printing_in_another_thread_while_handlers_start_and_end_never_crashes(tmp_path):
    """print() holds sys.stdout by a borrowed reference (CPython 3.11): the router each
    handler installs must outlive its removal, or a print of another thread crashes the
    process (a segfault in 4 of 4 runs of this script before the fix)."""
    done = subprocess.run([sys.executable, "-c", PRINTING_WHILE_HANDLERS_RUN], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, timeout=120,
                          env={**os.environ, "PYTHONFAULTHANDLER": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.strip().endswith("done")


def test_exception_gives_exit_code_1_traceback_in_logs_and_complete(ag):
    def boom(ctx):
        print("before")
        raise ValueError("boom happened")
    ag.register_image("boom:1", boom)
    actor = ag.actors.add(body={"image": "boom:1"})
    ex = run(ag, actor.id)
    assert ex.status == "COMPLETE"
    assert ex.exitCode == 1
    assert ex.finalState["ExitCode"] == 1
    logs = logs_of(ag, actor.id, ex.id)
    assert logs.startswith("before\n")
    assert "Traceback (most recent call last)" in logs
    assert "ValueError: boom happened" in logs


def test_results_sent_before_an_exception_are_kept(ag):
    def partial(ctx):
        ctx.send_result(b"partial")
        raise RuntimeError("later")
    ag.register_image("partial:1", partial)
    actor = ag.actors.add(body={"image": "partial:1"})
    ex = run(ag, actor.id)
    assert ag.actors.getOneExecutionResult(actorId=actor.id, executionId=ex.id).content == b"partial"


# -- commands ----------------------------------------------------------------------------

SCRIPT = """
import os, sys
print("MSG=" + os.environ.get("MSG", "<unset>"))
print("K=" + os.environ.get("K", "<unset>"))
print("D=" + os.environ.get("D", "<unset>"))
print("ID=" + os.environ["_abaco_actor_id"])
print("EX=" + os.environ["_abaco_execution_id"])
print("err line", file=sys.stderr)
sys.exit(int(os.environ.get("CODE", "0")))
"""


def test_command_gets_the_contract_environment_and_its_output_is_the_logs(ag):
    ag.register_image("cmd:1", command=[sys.executable, "-c", SCRIPT])
    actor = ag.actors.add(body={"image": "cmd:1", "defaultEnvironment": {"D": "dflt"}})
    ex = run(ag, actor.id, {"message": "hello cmd"}, environment={"K": "v"})
    assert ex.status == "COMPLETE" and ex.exitCode == 0
    logs = logs_of(ag, actor.id, ex.id)
    assert "MSG=hello cmd\n" in logs
    assert "K=v\n" in logs
    assert "D=dflt\n" in logs
    assert f"ID={actor.id}\n" in logs
    assert f"EX={ex.id}\n" in logs
    assert "err line\n" in logs


def test_command_exit_code_is_the_execution_exit_code(ag):
    ag.register_image("cmd:1", command=[sys.executable, "-c", SCRIPT])
    actor = ag.actors.add(body={"image": "cmd:1"})
    ex = run(ag, actor.id, {"message": "m"}, environment={"CODE": "5"})
    assert ex.status == "COMPLETE"
    assert ex.exitCode == 5
    assert ex.finalState["ExitCode"] == 5


def test_command_receives_binary_message_and_sends_results(ag):
    script = (
        "import os, socket, sys\n"
        "data = open(os.environ['ABACO_EMULATOR_BINARY_DATA'], 'rb').read()\n"
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
        "s.sendto(data[::-1], os.environ['ABACO_EMULATOR_RESULTS_SOCKET'])\n"
        "s.sendto(b'second', os.environ['ABACO_EMULATOR_RESULTS_SOCKET'])\n"
        "print(len(data), 'MSG' in os.environ)\n"
    )
    ag.register_image("bin:1", command=[sys.executable, "-c", script])
    actor = ag.actors.add(body={"image": "bin:1"})
    sent = ag.actors.sendBinaryMessage(actorId=actor.id, message=b"abc\x00")
    ex = ag.wait_for_execution(actor.id, sent.executionId, timeout=10)
    assert ex.exitCode == 0, logs_of(ag, actor.id, ex.id)
    assert logs_of(ag, actor.id, ex.id) == "4 False\n"
    results = [ag.actors.getOneExecutionResult(actorId=actor.id, executionId=ex.id).content for _ in range(3)]
    assert results == [b"\x00cba", b"second", b""]


def test_command_sending_more_results_than_the_socket_queue_holds_is_not_blocked(ag):
    # 3,000 datagrams of 1 KiB are far more than a Unix socket queues: the command only
    # ends because the results are received while it runs.
    script = (
        "import os, socket\n"
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
        "for n in range(3000):\n"
        "    s.sendto(n.to_bytes(4, 'big') * 256, os.environ['ABACO_EMULATOR_RESULTS_SOCKET'])\n"
        "print('sent')\n"
    )
    ag.register_image("many:1", command=[sys.executable, "-c", script])
    actor = ag.actors.add(body={"image": "many:1"})
    ex = run(ag, actor.id, {"message": "m"})
    assert logs_of(ag, actor.id, ex.id) == "sent\n"
    firsts = [ag.actors.getOneExecutionResult(actorId=actor.id, executionId=ex.id).content for _ in range(3)]
    assert firsts == [n.to_bytes(4, "big") * 256 for n in range(3)]


# -- images ------------------------------------------------------------------------------

# An actor script written for a container, using agavepy's helpers, run unchanged.
AGAVEPY_ACTOR = """
import os
from agavepy.actors import get_binary_message, get_context, send_bytes_result, send_python_result
import helper
ctx = get_context()
kind = os.environ["_abaco_Content_Type"]  # agavepy's content_type reads a name Abaco never sets
print("message", ctx["raw_message"], "type", kind, helper.NAME)
if kind == "application/octet-stream":
    data = get_binary_message()
    print("binary", len(data))
    send_bytes_result(data[:4])
send_python_result({"words": len(str(ctx["raw_message"]).split())})
"""


def test_agavepy_actor_script_runs_unchanged_as_a_command(ag, tmp_path):
    pytest.importorskip("agavepy")
    (tmp_path / "actor.py").write_text(AGAVEPY_ACTOR)
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "helper.py").write_text("NAME = 'own-pythonpath'\n")
    ag.register_image("scripts/agavepy:1", command=[sys.executable, str(tmp_path / "actor.py")])
    actor = ag.actors.add(body={"image": "scripts/agavepy:1",
                                "defaultEnvironment": {"PYTHONPATH": str(tmp_path / "lib")}})

    ex = run(ag, actor.id, {"message": "three small words"})
    out = logs_of(ag, actor.id, ex.id)
    assert (ex.status, ex.exitCode) == ("COMPLETE", 0), out
    assert "message three small words type str own-pythonpath" in out
    assert [pickle.loads(r) for r in all_results(ag, actor.id, ex.id)] == [{"words": 3}]

    payload = bytes(range(256)) * 4096  # 1 MiB
    sent = ag.actors.sendBinaryMessage(actorId=actor.id, message=payload)
    ex = ag.wait_for_execution(actor.id, sent.executionId, timeout=10)
    out = logs_of(ag, actor.id, ex.id)
    assert (ex.status, ex.exitCode) == ("COMPLETE", 0), out
    assert f"binary {len(payload)}" in out
    first, second = all_results(ag, actor.id, ex.id)
    assert first == payload[:4] and pickle.loads(second)["words"] >= 1


def test_agavepy_actor_script_updates_state_through_a_served_emulator(tmp_path):
    pytest.importorskip("agavepy")
    (tmp_path / "counter.py").write_text(
        "import ast\n"
        "from agavepy.actors import get_context, update_state\n"
        "ctx = get_context()\n"
        "count = ast.literal_eval(ctx['state']).get('count', 0) + 1\n"
        "update_state({'count': count})\n"
        "print('count', count)\n")
    with serve(runner="local") as server:
        ag = server.emulator
        ag.register_image("scripts/counter:1", command=[sys.executable, str(tmp_path / "counter.py")])
        actor = ag.actors.add(body={"image": "scripts/counter:1", "stateless": False})
        for expected in (1, 2):
            ex = run(ag, actor.id, {"message": "tick"})
            out = logs_of(ag, actor.id, ex.id)
            assert (ex.status, ex.exitCode) == ("COMPLETE", 0), out
            assert f"count {expected}" in out
        assert ag.actors.getState(actorId=actor.id).state == {"count": 2}


def test_unregistered_image_puts_actor_in_error_and_messages_stay_queued(ag):
    actor = ag.actors.add(body={"image": "not/registered:1"})
    sent = [ag.actors.sendMessage(actorId=actor.id, body={"message": str(i)}) for i in range(2)]
    current = _wait_for_status(ag, actor.id, "ERROR")
    assert "not/registered:1" in current.statusMessage
    assert "not registered" in current.statusMessage
    assert ag.actors.getMessages(actorId=actor.id).messages == 2
    for s in sent:
        assert ag.actors.getExecution(actorId=actor.id, executionId=s.executionId).status == "SUBMITTED"


def test_registering_then_updating_brings_actor_ready_and_runs_queued_messages(ag):
    actor = ag.actors.add(body={"image": "later:1", "stateless": False})  # stateful: runs in order
    sent = [ag.actors.sendMessage(actorId=actor.id, body={"message": str(i)}) for i in range(3)]
    _wait_for_status(ag, actor.id, "ERROR")
    order = []
    ag.register_image("later:1", lambda ctx: order.append(ctx.raw_message))
    ag.actors.update(actorId=actor.id, body={"image": "later:1", "stateless": False, "force": True})
    for s in sent:
        assert ag.wait_for_execution(actor.id, s.executionId, timeout=5).status == "COMPLETE"
    assert order == ["0", "1", "2"]
    assert _wait_for_status(ag, actor.id, "READY").status == "READY"


def test_updating_to_a_registered_new_image_leaves_error(ag):
    actor = ag.actors.add(body={"image": "later:1"})
    sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "m"})
    _wait_for_status(ag, actor.id, "ERROR")
    ag.register_image("other:1", echo)
    ag.actors.update(actorId=actor.id, body={"image": "other:1"})
    assert ag.wait_for_execution(actor.id, sent.executionId, timeout=5).status == "COMPLETE"
    assert _wait_for_status(ag, actor.id, "READY").image == "other:1"


def _wait_for_status(ag, actor_id, status, timeout=5):
    import time
    deadline = time.monotonic() + timeout
    while True:
        current = ag.actors.get(actorId=actor_id)
        if current.status == status or time.monotonic() > deadline:
            assert current.status == status, dict(current)
            return current
        time.sleep(0.01)


def test_register_image_needs_exactly_one_of_handler_and_command(ag):
    with pytest.raises(ValueError):
        ag.register_image("x:1")
    with pytest.raises(ValueError):
        ag.register_image("x:1", echo, command=["true"])
    with pytest.raises(TypeError):
        ag.register_image("x:1", command="echo hi")
    with pytest.raises(TypeError):
        ag.register_image("x:1", "not callable")


def test_registering_again_replaces_the_handler(ag):
    ag.register_image("v:1", lambda ctx: "old")
    ag.register_image("v:1", lambda ctx: "new")
    actor = ag.actors.add(body={"image": "v:1"})
    ex = run(ag, actor.id)
    assert ag.actors.getOneExecutionResult(actorId=actor.id, executionId=ex.id).content == b"new"
