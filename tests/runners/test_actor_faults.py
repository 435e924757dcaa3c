"""Actor faults: whatever an actor does wrong, its execution is recorded and the emulator keeps serving.

Each test makes an actor fail in one way (an exit code, a signal, memory, time, output,
an unread binary message, oversized results, a missing image, a Docker daemon that
goes away) and then checks two things: the faulty execution is recorded as Abaco
records it (status, exit code, final state, logs with the reason), and a plain message
sent afterwards to the same emulator runs normally (`assert_healthy`).

The local runner's tests use two registered images: FAULTY_PY (a handler that fails as
told by the variable FAULT) and FAULTY_SH (a command running the shell code in
$SCRIPT, like the busybox test image). The Docker tests use the fixture images
abaco-emulator/busybox:test ($SCRIPT) and abaco-emulator/python:test ($PY_SCRIPT).
"""
from __future__ import annotations

import os
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from abaco_emulator import AbacoEmulator
from abaco_emulator.errors import ExecutionTimeout
from abaco_emulator.models import LOG_LIMIT, LOG_TRUNCATED_SUFFIX, MAX_RESULT_BYTES

from abaco_checks import all_results as results, wait_until

from faults_support import DaemonProxy, PeakMemory, memory_measurable

ROOT = Path(__file__).resolve().parents[2]
BUSYBOX = "abaco-emulator/busybox:test"
PYTHON = "abaco-emulator/python:test"
FAULTY_PY = "faults/handler:1"
FAULTY_SH = "faults/shell:1"
LABEL_INSTANCE = "abaco-emulator.instance"
# Large enough that holding it would break the bound (an unbounded log was measured at
# +150 MiB for it); the emulator holds 1 MB of log and reads the rest in 64 KiB pieces.
FLOOD_BYTES = 80_000_000
MEMORY_BOUND_MIB = 60
MIB = os.urandom(1 << 20)
HEALTHY_SCRIPT = 'echo "healthy $MSG"'


# -- shared checks ---------------------------------------------------------------------------

def logs(ag, actor_id: str, execution_id: str) -> str:
    return ag.actors.getExecutionLogs(actorId=actor_id, executionId=execution_id).logs


def run(ag, actor_id: str, *, binary: bytes | None = None, timeout: float = 30, **kwargs):
    """Send one message and wait for its execution to be recorded."""
    if binary is not None:
        sent = ag.actors.sendBinaryMessage(actorId=actor_id, message=binary, **kwargs)
    else:
        sent = ag.actors.sendMessage(actorId=actor_id, body={"message": "fault"}, **kwargs)
    return ag.wait_for_execution(actor_id, sent.executionId, timeout=timeout)


def assert_recorded(ag, actor_id: str, ex) -> None:
    """The execution is finished, listed, timed, has its logs, and its message left the mailbox."""
    assert ex.status in ("COMPLETE", "ERROR")
    assert ex.finishTime and ex.startTime
    listed = {e["id"]: e["status"] for e in ag.actors.listExecutions(actorId=actor_id).executions}
    assert listed[ex.id] == ex.status
    assert isinstance(logs(ag, actor_id, ex.id), str)
    assert ag.actors.getMessages(actorId=actor_id).messages == 0


def assert_healthy(ag, actor_id: str, **environment: str) -> None:
    """A plain message to the same actor still runs to COMPLETE: the fault left the emulator serving."""
    env = environment or {"SCRIPT": HEALTHY_SCRIPT}
    sent = ag.actors.sendMessage(actorId=actor_id, body={"message": "after"}, environment=env)
    ex = ag.wait_for_execution(actor_id, sent.executionId, timeout=30)
    assert (ex.status, ex.exitCode) == ("COMPLETE", 0), logs(ag, actor_id, ex.id)
    assert logs(ag, actor_id, ex.id) == "healthy after\n"
    assert ag.actors.get(actorId=actor_id).status == "READY"
    ag._emulator.raise_background_errors()


def assert_truncated_at_abaco_limit(text: str, fill: str) -> None:
    assert text.endswith(LOG_TRUNCATED_SUFFIX)
    assert len(text) == LOG_LIMIT + len(LOG_TRUNCATED_SUFFIX)
    assert set(text[:LOG_LIMIT]) <= set(fill)


# -- the local runner ------------------------------------------------------------------------

_loops_released = threading.Event()  # ends the handler threads a time limit abandoned


def faulty_handler(ctx):
    """The handler of FAULTY_PY: fails in the way the variable FAULT names."""
    fault = ctx.get("FAULT", "healthy")
    if fault == "healthy":
        print("healthy", ctx.raw_message)
    elif fault == "raise":
        print("before the bug")
        raise RuntimeError("the actor's own bug")
    elif fault == "exit":
        sys.exit(5)
    elif fault == "loop":
        while not _loops_released.is_set():
            print("tick", flush=True)
            _loops_released.wait(0.05)
    elif fault == "flood":
        line = "x" * 999
        for _ in range(FLOOD_BYTES // 1000):
            print(line)
    elif fault == "ignore-binary":
        print("ignored", type(ctx.binary).__name__)
    elif fault == "many-results":
        for i in range(int(ctx["COUNT"])):
            ctx.send_result(b"%d" % i + b"." * int(ctx.get("PAD", "0")))
    elif fault == "big-results":
        ctx.send_result(b"x" * (MAX_RESULT_BYTES + 1))
        ctx.send_result(b"kept")
        return b"y" * 200_000
    else:
        raise AssertionError(f"unknown FAULT {fault}")
    return None


@pytest.fixture
def local(ag):
    """The local emulator of conftest with the two faulty images registered."""
    _loops_released.clear()
    ag.register_image(FAULTY_PY, faulty_handler)
    ag.register_image(FAULTY_SH, command=["sh", "-c", 'eval "$SCRIPT"'])
    yield ag
    _loops_released.set()


def handler_actor(ag, fault: str, **body):
    return ag.actors.add(body={"image": FAULTY_PY, "defaultEnvironment": {"FAULT": fault}, **body})


def shell_actor(ag, script: str, image: str = FAULTY_SH, **body):
    return ag.actors.add(body={"image": image, "defaultEnvironment": {"SCRIPT": script}, **body})


def test_local_handler_that_raises_is_complete_with_exit_code_1_and_its_traceback(local):
    actor = handler_actor(local, "raise")
    ex = run(local, actor.id)
    out = logs(local, actor.id, ex.id)
    assert (ex.status, ex.exitCode) == ("COMPLETE", 1)
    assert out.startswith("before the bug\n")
    assert "Traceback" in out and "RuntimeError: the actor's own bug" in out
    assert_recorded(local, actor.id, ex)
    assert_healthy(local, actor.id, FAULT="healthy")


def test_local_handler_sys_exit_code_is_the_execution_exit_code(local):
    actor = handler_actor(local, "exit")
    ex = run(local, actor.id)
    assert (ex.status, ex.exitCode) == ("COMPLETE", 5)
    assert ex.finalState["ExitCode"] == 5
    assert_healthy(local, actor.id, FAULT="healthy")


def test_local_command_nonzero_exit_and_death_by_signal_are_recorded(local):
    actor = shell_actor(local, "echo failing; exit 42")
    ex = run(local, actor.id)
    assert (ex.status, ex.exitCode) == ("COMPLETE", 42)
    assert logs(local, actor.id, ex.id) == "failing\n"
    assert_recorded(local, actor.id, ex)
    for signal_name, code in (("KILL", 137), ("SEGV", 139)):
        ex = run(local, actor.id, environment={"SCRIPT": f"echo dying; kill -{signal_name} $$"})
        assert (ex.status, ex.exitCode) == ("COMPLETE", code), signal_name
        assert ex.finalState["ExitCode"] == code
        assert logs(local, actor.id, ex.id) == "dying\n"
    assert_healthy(local, actor.id)


def test_local_endless_handler_is_stopped_by_the_actor_max_run_time_hint(local):
    actor = handler_actor(local, "loop", hints=["max_run_time=1"])
    ex = run(local, actor.id)
    out = logs(local, actor.id, ex.id)
    assert (ex.status, ex.exitCode) == ("COMPLETE", 137)
    assert out.startswith("tick\n")
    assert "maximum run time of 1" in out
    assert_recorded(local, actor.id, ex)
    assert_healthy(local, actor.id, FAULT="healthy")


def test_local_endless_command_is_killed_at_the_emulator_max_run_time():
    with AbacoEmulator(runner="local", max_run_time=1) as ag:
        ag.register_image(FAULTY_SH, command=["sh", "-c", 'eval "$SCRIPT"'])
        actor = shell_actor(ag, "echo started; while :; do :; done")
        ex = run(ag, actor.id)
        out = logs(ag, actor.id, ex.id)
        assert (ex.status, ex.exitCode) == ("COMPLETE", 137)
        assert out.startswith("started\n") and "maximum run time of 1" in out
        assert_recorded(ag, actor.id, ex)
        assert_healthy(ag, actor.id)


def test_local_command_leaving_a_background_process_ends_with_its_first_process(local):
    # As in a container, whose other processes die with its first one: a child left
    # holding the output pipe must not keep the execution (and its worker) waiting.
    actor = shell_actor(local, "sleep 120 & echo parent-done")
    ex = run(local, actor.id, timeout=20)
    assert (ex.status, ex.exitCode) == ("COMPLETE", 0)
    assert logs(local, actor.id, ex.id) == "parent-done\n"
    assert_healthy(local, actor.id)


@pytest.mark.skipif(not memory_measurable(), reason="needs /proc/self/status (Linux)")
def test_local_output_flood_is_truncated_with_memory_bounded(local):
    printer = handler_actor(local, "flood")
    shell = shell_actor(local, f"yes xxxxxxxxx | head -c {FLOOD_BYTES}")
    with PeakMemory() as memory:
        printed = run(local, printer.id, timeout=60)
        written = run(local, shell.id, timeout=60)
    assert (printed.status, printed.exitCode) == ("COMPLETE", 0)
    assert (written.status, written.exitCode) == ("COMPLETE", 0)
    assert_truncated_at_abaco_limit(logs(local, printer.id, printed.id), "x\n")
    assert_truncated_at_abaco_limit(logs(local, shell.id, written.id), "x\n")
    assert memory.growth_mib < MEMORY_BOUND_MIB, f"the emulator grew {memory.growth_mib:.0f} MiB"
    assert_healthy(local, printer.id, FAULT="healthy")
    assert_healthy(local, shell.id)


def test_local_binary_message_never_read_does_not_hang(local):
    quick = shell_actor(local, "echo ignored")
    slow = shell_actor(local, "sleep 0.3; echo ignored")  # still running while the message is fed
    handler = handler_actor(local, "ignore-binary")
    for actor in (quick, slow):
        ex = run(local, actor.id, binary=MIB, timeout=20)
        assert (ex.status, ex.exitCode) == ("COMPLETE", 0)
        assert logs(local, actor.id, ex.id) == "ignored\n"
    ex = run(local, handler.id, binary=MIB, timeout=20)
    assert (ex.status, ex.exitCode) == ("COMPLETE", 0)
    assert logs(local, handler.id, ex.id) == "ignored bytes\n"
    assert_healthy(local, slow.id)


def test_local_results_above_the_datagram_limit_are_dropped_with_a_log_line(local):
    handler = handler_actor(local, "big-results")
    ex = run(local, handler.id)
    out = logs(local, handler.id, ex.id)
    assert (ex.status, ex.exitCode) == ("COMPLETE", 0), out
    assert results(local, handler.id, ex.id) == [b"kept"]
    assert f"a result of {MAX_RESULT_BYTES + 1} bytes was dropped" in out
    assert "a result of 200000 bytes was dropped" in out
    assert f"limited to {MAX_RESULT_BYTES} bytes" in out
    sender = textwrap.dedent("""
        import os, socket
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.connect(os.environ["ABACO_EMULATOR_RESULTS_SOCKET"])
        s.send(b"z" * 200000)
        s.send(b"kept")
    """)
    command = shell_actor(local, f"{sys.executable} -c '{sender}'")
    ex = run(local, command.id)
    out = logs(local, command.id, ex.id)
    assert (ex.status, ex.exitCode) == ("COMPLETE", 0), out
    assert results(local, command.id, ex.id) == [b"kept"]
    assert "a result of 200000 bytes was dropped" in out
    assert_healthy(local, command.id)


@pytest.fixture
def small_results_bounds(monkeypatch):
    """The emulator's bounds on one execution's results, made small enough to reach quickly."""
    monkeypatch.setattr("abaco_emulator.runners.output.MAX_RESULTS_PER_EXECUTION", 5)
    monkeypatch.setattr("abaco_emulator.runners.output.MAX_RESULTS_TOTAL_BYTES", 100)


def test_local_results_past_the_count_bound_are_dropped_with_one_log_line(local, small_results_bounds):
    handler = handler_actor(local, "many-results", defaultEnvironment={"FAULT": "many-results", "COUNT": "9"})
    ex = run(local, handler.id)
    out = logs(local, handler.id, ex.id)
    assert (ex.status, ex.exitCode) == ("COMPLETE", 0), out
    assert results(local, handler.id, ex.id) == [b"0", b"1", b"2", b"3", b"4"]
    assert out.count("dropped") == 1 and "at most 5 results and 100 bytes" in out
    sender = textwrap.dedent("""
        import os, socket
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.connect(os.environ["ABACO_EMULATOR_RESULTS_SOCKET"])
        for i in range(2000):
            s.send(b"%d" % i)
    """)
    command = shell_actor(local, f"{sys.executable} -c '{sender}'")
    ex = run(local, command.id)
    out = logs(local, command.id, ex.id)
    assert results(local, command.id, ex.id) == [b"0", b"1", b"2", b"3", b"4"]
    assert out.count("dropped") == 1
    assert_healthy(local, command.id)


def test_local_results_past_the_byte_bound_are_dropped(local, small_results_bounds):
    handler = handler_actor(local, "many-results",
                            defaultEnvironment={"FAULT": "many-results", "COUNT": "4", "PAD": "39"})
    ex = run(local, handler.id)
    kept = results(local, handler.id, ex.id)
    assert kept == [b"0" + b"." * 39, b"1" + b"." * 39]  # 80 bytes; a third would pass 100
    assert "this result and all later ones were dropped" in logs(local, handler.id, ex.id)


def test_local_a_small_result_after_the_byte_bound_is_dropped_too(local, small_results_bounds):
    def sender(ctx):
        for value in (b"a" * 60, b"b" * 60, b"c"):  # the second passes 100 bytes; "c" would fit
            ctx.send_result(value)

    local.register_image("faults/sizes:1", sender)
    actor = local.actors.add(body={"image": "faults/sizes:1"})
    ex = run(local, actor.id)
    assert results(local, actor.id, ex.id) == [b"a" * 60]
    assert logs(local, actor.id, ex.id).count("dropped") == 1


def test_local_unregistered_image_puts_the_actor_in_error_and_messages_wait(ag):
    actor = shell_actor(ag, HEALTHY_SCRIPT, image="faults/late:1")
    wait_until(lambda: ag.actors.get(actorId=actor.id).status == "ERROR", what="actor ERROR")
    message = ag.actors.get(actorId=actor.id).statusMessage
    assert "faults/late:1" in message and "register_image" in message
    sent = [ag.actors.sendMessage(actorId=actor.id, body={"message": f"m{i}"}).executionId for i in range(2)]
    with pytest.raises(ExecutionTimeout, match="ERROR"):
        ag.drain(timeout=0.5)  # nothing runs while the image is missing, and nothing is dropped
    assert ag.actors.getMessages(actorId=actor.id).messages == 2
    ag.register_image("faults/late:1", command=["sh", "-c", 'eval "$SCRIPT"'])
    for i, execution_id in enumerate(sent):
        ex = ag.wait_for_execution(actor.id, execution_id, timeout=10)
        assert (ex.status, ex.exitCode) == ("COMPLETE", 0)
        assert logs(ag, actor.id, execution_id) == f"healthy m{i}\n"
    assert_healthy(ag, actor.id)


# -- the Docker runner -----------------------------------------------------------------------

docker_only = pytest.mark.docker


@pytest.fixture
def dag(images, docker_client):
    """A Docker emulator; afterwards none of its containers may be left."""
    with AbacoEmulator(runner="docker", max_run_time=60) as emulator:
        instance = f"{LABEL_INSTANCE}={emulator.runner.instance}"
        yield emulator
        emulator.raise_background_errors()
    assert docker_client.containers.list(all=True, filters={"label": instance}, ignore_removed=True) == []


@pytest.fixture
def admin(dag):
    return dag.as_user("admin", roles=["Internal/abaco-admin"])


def busybox_actor(ag, script: str, **body):
    return ag.actors.add(body={"image": BUSYBOX, "defaultEnvironment": {"SCRIPT": script}, **body})


def python_actor(ag, code: str, **body):
    return ag.actors.add(body={"image": PYTHON, "defaultEnvironment": {"PY_SCRIPT": textwrap.dedent(code)},
                               **body})


@docker_only
def test_docker_nonzero_exit_is_complete_with_the_exit_code(dag):
    actor = busybox_actor(dag, "echo failing; exit 42")
    ex = run(dag, actor.id)
    assert (ex.status, ex.exitCode) == ("COMPLETE", 42)
    assert ex.finalState["ExitCode"] == 42 and ex.finalState["OOMKilled"] is False
    assert logs(dag, actor.id, ex.id) == "failing\n"
    assert_recorded(dag, actor.id, ex)
    assert_healthy(dag, actor.id)


@docker_only
def test_docker_death_by_signal_is_recorded_as_128_plus_the_signal(dag):
    # The container's first process (PID 1) ignores signals sent from inside it, so the
    # shell runs the dying program as a child and ends with its status, as an
    # entrypoint script does; the Python actor segfaults as PID 1 itself.
    actor = busybox_actor(dag, "echo dying; sh -c 'kill -9 $$'")
    ex = run(dag, actor.id)
    assert (ex.status, ex.exitCode) == ("COMPLETE", 137)
    assert ex.finalState["ExitCode"] == 137 and ex.finalState["OOMKilled"] is False
    # stdout's "dying" and the shell's "Killed" on stderr: Docker copies the two pipes
    # separately, so either may come first.
    assert sorted(logs(dag, actor.id, ex.id).splitlines()) == ["Killed", "dying"]
    ex = run(dag, actor.id, environment={"SCRIPT": "echo dying; sh -c 'kill -SEGV $$'"})
    assert (ex.status, ex.exitCode) == ("COMPLETE", 139)
    assert_recorded(dag, actor.id, ex)
    assert_healthy(dag, actor.id)
    crasher = python_actor(dag, """
        import ctypes
        print("segfaulting", flush=True)
        ctypes.string_at(0)
    """)
    ex = run(dag, crasher.id)
    assert (ex.status, ex.exitCode) == ("COMPLETE", 139)
    assert ex.finalState["ExitCode"] == 139
    assert logs(dag, crasher.id, ex.id) == "segfaulting\n"
    assert_healthy(dag, crasher.id, PY_SCRIPT='print("healthy", get_context()["raw_message"])')


@docker_only
def test_docker_out_of_memory_under_mem_limit_is_oom_killed(admin):
    # A shell variable of 200 MB in a 32 MB container.
    actor = busybox_actor(admin, "echo allocating; x=$(head -c 200m /dev/zero | tr '\\0' a); echo ${#x}",
                          memLimit="32m")
    ex = run(admin, actor.id)
    out = logs(admin, actor.id, ex.id)
    assert (ex.status, ex.exitCode) == ("COMPLETE", 137), out
    assert ex.finalState["OOMKilled"] is True
    assert out == "allocating\n"
    assert_recorded(admin, actor.id, ex)
    assert_healthy(admin, actor.id)


@docker_only
def test_docker_endless_loop_is_stopped_by_the_actor_hint_with_partial_logs(dag):
    actor = busybox_actor(dag, "while :; do echo tick; sleep 0.1; done", hints=["max_run_time=1"])
    ex = run(dag, actor.id)
    out = logs(dag, actor.id, ex.id)
    assert (ex.status, ex.exitCode) == ("COMPLETE", 137)
    assert out.startswith("tick\ntick\n")
    assert out.endswith("\nabaco-emulator: execution stopped after its maximum run time of 1 s.\n")
    assert_recorded(dag, actor.id, ex)
    assert_healthy(dag, actor.id)


@docker_only
def test_docker_busy_loop_is_killed_at_the_emulator_max_run_time(images, docker_client):
    with AbacoEmulator(runner="docker", max_run_time=1) as ag:
        instance = f"{LABEL_INSTANCE}={ag.runner.instance}"
        actor = busybox_actor(ag, "echo started; while :; do :; done")
        ex = run(ag, actor.id)
        out = logs(ag, actor.id, ex.id)
        assert (ex.status, ex.exitCode) == ("COMPLETE", 137)
        assert out.startswith("started\n") and "maximum run time of 1 s" in out
        assert_recorded(ag, actor.id, ex)
        assert_healthy(ag, actor.id)
        assert docker_client.containers.list(all=True, filters={"label": instance}, ignore_removed=True) == []


@docker_only
@pytest.mark.skipif(not memory_measurable(), reason="needs /proc/self/status (Linux)")
def test_docker_output_flood_is_truncated_with_memory_bounded(dag):
    # One 80 MB line (no newline at all) on stdout, then a line on stderr.
    actor = busybox_actor(dag, f"head -c {FLOOD_BYTES} /dev/zero | tr '\\0' x; echo done >&2")
    with PeakMemory() as memory:
        ex = run(dag, actor.id, timeout=60)
    assert (ex.status, ex.exitCode) == ("COMPLETE", 0)
    assert_truncated_at_abaco_limit(logs(dag, actor.id, ex.id), "x")
    assert memory.growth_mib < MEMORY_BOUND_MIB, f"the emulator grew {memory.growth_mib:.0f} MiB"
    assert_recorded(dag, actor.id, ex)
    assert_healthy(dag, actor.id)


@docker_only
def test_docker_binary_message_never_read_does_not_hang(dag):
    shell = busybox_actor(dag, "sleep 0.3; echo ignored")
    ex = run(dag, shell.id, binary=MIB)
    assert (ex.status, ex.exitCode) == ("COMPLETE", 0)
    assert logs(dag, shell.id, ex.id) == "ignored\n"
    python = python_actor(dag, 'print("ignored", os.environ["_abaco_Content_Type"])')
    ex = run(dag, python.id, binary=MIB)
    assert (ex.status, ex.exitCode) == ("COMPLETE", 0)
    assert logs(dag, python.id, ex.id) == "ignored application/octet-stream\n"
    assert_recorded(dag, python.id, ex)
    assert_healthy(dag, shell.id)


@docker_only
def test_docker_results_larger_than_a_datagram_allows_are_named_in_the_logs(dag):
    # Above Abaco's 131072 bytes but within a datagram: dropped by the emulator with a
    # log line. Above what a datagram can carry at all: agavepy's send fails in the
    # actor, which says so in its own log.
    actor = python_actor(dag, f"""
        send_bytes_result(b"x" * {MAX_RESULT_BYTES + 1})
        send_bytes_result(b"y" * 200000)
        send_bytes_result(b"kept")
        print("sent", flush=True)
        send_bytes_result(b"z" * (1 << 20))
    """)
    ex = run(dag, actor.id)
    out = logs(dag, actor.id, ex.id)
    assert (ex.status, ex.exitCode) == ("COMPLETE", 1), out
    assert results(dag, actor.id, ex.id) == [b"kept"]
    assert f"a result of {MAX_RESULT_BYTES + 1} bytes was dropped" in out
    assert "a result of 200000 bytes was dropped" in out
    assert f"limited to {MAX_RESULT_BYTES} bytes per datagram" in out
    assert "Message too long" in out
    assert_recorded(dag, actor.id, ex)
    assert_healthy(dag, actor.id, PY_SCRIPT='print("healthy", get_context()["raw_message"])')


@docker_only
def test_docker_missing_image_errors_the_actor_until_an_update_runs_the_waiting_messages(dag):
    missing = "abaco-emulator/faults-never-built:none"
    actor = dag.actors.add(body={"image": missing, "defaultEnvironment": {"SCRIPT": HEALTHY_SCRIPT}})
    wait_until(lambda: dag.actors.get(actorId=actor.id).status == "ERROR", what="actor ERROR")
    message = dag.actors.get(actorId=actor.id).statusMessage
    assert missing in message
    assert "docker build" in message and "docker load" in message and "update the actor" in message
    sent = [dag.actors.sendMessage(actorId=actor.id, body={"message": f"m{i}"}).executionId for i in range(2)]
    with pytest.raises(ExecutionTimeout, match="ERROR"):
        dag.drain(timeout=0.5)  # nothing runs while the image is missing, and nothing is dropped
    assert dag.actors.getMessages(actorId=actor.id).messages == 2
    assert {dag.actors.getExecution(actorId=actor.id, executionId=e).status for e in sent} == {"SUBMITTED"}
    dag.actors.update(actorId=actor.id, body={"image": BUSYBOX, "defaultEnvironment": {"SCRIPT": HEALTHY_SCRIPT}})
    for i, execution_id in enumerate(sent):
        ex = dag.wait_for_execution(actor.id, execution_id, timeout=30)
        assert (ex.status, ex.exitCode) == ("COMPLETE", 0)
        assert logs(dag, actor.id, execution_id) == f"healthy m{i}\n"
    assert_healthy(dag, actor.id)


@pytest.fixture
def proxied(images, docker_client, tmp_path):
    """A Docker emulator whose client talks to the daemon through a proxy the test can
    stop, freeze and restart (never the real daemon: others use it). Afterwards none of
    its containers may be left."""
    if not os.path.exists("/var/run/docker.sock"):
        pytest.skip("the engine does not listen on /var/run/docker.sock")
    import docker
    proxy = DaemonProxy(str(tmp_path / "docker.sock"))
    proxy.start()
    made = []

    def emulator(client_timeout: float):
        client = docker.DockerClient(base_url=proxy.url, timeout=client_timeout)
        ag = AbacoEmulator(runner="docker", docker_client=client)
        made.append((ag, client))
        return proxy, ag, {"label": f"{LABEL_INSTANCE}={ag.runner.instance}"}

    yield emulator
    proxy.thaw()
    left = []
    for ag, client in made:
        ag.close()
        left += docker_client.containers.list(all=True, filters={"label": f"{LABEL_INSTANCE}={ag.runner.instance}"},
                                              ignore_removed=True)
        client.close()
    for container in left:
        container.remove(force=True)
    proxy.close()
    assert left == [], "the emulator left a container once the daemon answered again"


@docker_only
def test_docker_daemon_stopped_mid_run_errors_the_execution_and_later_messages_wait_for_it(
        proxied, docker_client):
    proxy, ag, instance = proxied(client_timeout=5)
    actor = busybox_actor(ag, "echo started; sleep 60")
    sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "m"})
    running = wait_until(lambda: docker_client.containers.list(filters=instance, ignore_removed=True),
                         what="a running container")
    wait_until(lambda: b"started" in running[0].logs(), what="the actor's first line")
    proxy.stop()
    ex = ag.wait_for_execution(actor.id, sent.executionId, timeout=30)
    out = logs(ag, actor.id, ex.id)
    assert ex.status == "ERROR", out
    assert out.startswith("started\n"), out  # what the actor wrote before is kept
    assert "the Docker engine stopped answering while execution" in out
    assert_recorded(ag, actor.id, ex)
    # Sent while the daemon is down: it waits (the actor is in ERROR, saying why)
    # and runs once the daemon is back, as a message to a real Abaco actor would.
    down = ag.actors.sendMessage(actorId=actor.id, body={"message": "while down"},
                                 environment={"SCRIPT": "echo ran"})
    waiting = wait_until(lambda: ag.actors.get(actorId=actor.id).status == "ERROR"
                         and ag.actors.get(actorId=actor.id), what="the actor in ERROR")
    assert "does not answer" in waiting.statusMessage and "wait" in waiting.statusMessage
    assert ag.actors.getExecution(actorId=actor.id, executionId=down.executionId).status == "SUBMITTED"
    assert ag.actors.getMessages(actorId=actor.id).messages == 1
    proxy.start()
    during = ag.wait_for_execution(actor.id, down.executionId, timeout=30)
    assert (during.status, logs(ag, actor.id, during.id)) == ("COMPLETE", "ran\n")
    assert_healthy(ag, actor.id)
    assert ag.actors.get(actorId=actor.id).status == "READY"
    # the container cut off from the emulator is removed once the daemon is back
    assert not docker_client.containers.list(all=True, filters={"id": running[0].id}, ignore_removed=True)


@docker_only
def test_docker_daemon_that_hangs_mid_run_is_caught_by_the_liveness_ping(proxied, docker_client):
    # Nothing is closed, nothing is answered: only the runner's periodic ping of the
    # daemon (a few seconds apart, each within the client's timeout) can end the wait
    # before the container's own two minutes.
    proxy, ag, instance = proxied(client_timeout=3)
    actor = busybox_actor(ag, "echo started; sleep 120")
    sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "m"})
    wait_until(lambda: docker_client.containers.list(filters=instance, ignore_removed=True), what="a running container")
    proxy.freeze()
    ex = ag.wait_for_execution(actor.id, sent.executionId, timeout=60)
    out = logs(ag, actor.id, ex.id)
    assert ex.status == "ERROR", out
    assert "the Docker engine stopped answering while execution" in out and "timed out" in out
    assert_recorded(ag, actor.id, ex)
    proxy.thaw()
    assert_healthy(ag, actor.id)
