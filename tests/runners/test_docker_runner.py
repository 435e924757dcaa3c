"""The Docker runner against a real engine: Abaco's container contract end to end.

Uses the local images of fixtures/ (built once per session by fixtures/build_images.sh
when missing): abaco-emulator/busybox:test runs the shell code in $SCRIPT,
abaco-emulator/python:test runs the Python code in $PY_SCRIPT with agavepy's actor
helpers imported. Every test is marked `docker` and is skipped where no engine answers.
"""
from __future__ import annotations

import gc
import hashlib
import os
import pickle
import socket
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from datetime import datetime
from pathlib import Path

import pytest

from abaco_emulator import AbacoEmulator
from abaco_emulator.errors import DockerUnavailable

from abaco_checks import all_results as results, wait_until

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
BUSYBOX = "abaco-emulator/busybox:test"
PYTHON = "abaco-emulator/python:test"
LABEL_INSTANCE = "abaco-emulator.instance"
LABEL_EXECUTION = "abaco-emulator.execution"


@pytest.fixture
def ag(images):
    with AbacoEmulator(runner="docker", max_run_time=60) as emulator:
        yield emulator
        emulator.raise_background_errors()


def busybox_actor(ag, script: str, **body):
    env = dict(body.pop("defaultEnvironment", {}), SCRIPT=script)
    return ag.actors.add(body={"image": BUSYBOX, "defaultEnvironment": env, **body})


def python_actor(ag, code: str, **body):
    env = dict(body.pop("defaultEnvironment", {}), PY_SCRIPT=textwrap.dedent(code))
    return ag.actors.add(body={"image": PYTHON, "defaultEnvironment": env, **body})


def run(ag, actor_id, body=None, *, binary: bytes | None = None, timeout=60, **kwargs):
    if binary is not None:
        sent = ag.actors.sendBinaryMessage(actorId=actor_id, message=binary, **kwargs)
    else:
        sent = ag.actors.sendMessage(actorId=actor_id, body=body if body is not None else {"message": "m"},
                                     **kwargs)
    return ag.wait_for_execution(actor_id, sent.executionId, timeout=timeout)


def logs(ag, actor_id, execution_id) -> str:
    return ag.actors.getExecutionLogs(actorId=actor_id, executionId=execution_id).logs


def containers(client, label: str) -> list:
    return client.containers.list(all=True, filters={"label": label}, ignore_removed=True)


def parse_time(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


# -- the daemon --------------------------------------------------------------------------

def test_no_docker_unavailable_when_a_daemon_answers(images):
    with AbacoEmulator(runner="docker") as ag:
        assert ag.runner.name == "docker"


def test_a_dead_socket_gives_docker_unavailable_saying_how_to_start_one(images):
    import docker
    client = docker.DockerClient(base_url="unix:///nonexistent/docker.sock", version="1.41", timeout=3)
    began = time.monotonic()
    with warnings.catch_warnings():
        # docker-py leaves the socket of a failed connection unclosed; not ours to report.
        warnings.simplefilter("ignore", ResourceWarning)
        with pytest.raises(DockerUnavailable) as caught:
            AbacoEmulator(runner="docker", docker_client=client)
        client.close()
        message = str(caught.value)
        del caught
        gc.collect()
    assert time.monotonic() - began < 10
    assert "unix:///nonexistent/docker.sock" in message
    assert "dockerd --bridge=none --iptables=false --ip6tables=false" in message
    assert "Docker Desktop" in message


# -- the environment and messages ----------------------------------------------------------

def test_environment_order_default_then_message_then_abaco(ag):
    # busybox sh drops variables whose names are not shell names, so the test reads the
    # environment the container was given from /proc/1/environ.
    actor = busybox_actor(ag, "tr '\\0' '\\n' < /proc/1/environ", defaultEnvironment={
        "A": "default", "B": "default", "_abaco_actor_id": "default", "MSG": "default"})
    ex = run(ag, actor.id, {"message": "real"},
             environment={"B": "message", "C": "message", "_abaco_username": "message"})
    assert ex.status == "COMPLETE" and ex.exitCode == 0
    env = dict(line.split("=", 1) for line in logs(ag, actor.id, ex.id).splitlines() if "=" in line)
    assert env["A"] == "default"
    assert env["B"] == "message" and env["C"] == "message"
    assert env["_abaco_actor_id"] == actor.id
    assert env["_abaco_username"] == "testuser"
    assert env["MSG"] == "real"
    # only what Abaco's worker sets: _abaco_Content_Type (agavepy looks for _abaco_Content-Type)
    assert env["_abaco_Content_Type"] == "str" and "_abaco_Content-Type" not in env
    assert env["_abaco_execution_id"] == ex.id and env["_abaco_worker_id"] == ex.workerId
    assert env["_abaco_container_repo"] == BUSYBOX
    for name in ("_abaco_api_server", "_abaco_actor_revision", "_abaco_access_token",
                 "_abaco_actor_dbid", "_abaco_actor_state", "_abaco_actor_name"):
        assert name in env, name


def test_json_message_reaches_agavepy_get_context_as_message_dict(ag):
    actor = python_actor(ag, """
        import json
        ctx = get_context()
        print(json.dumps({"content_type": ctx["content_type"], "message_dict": dict(ctx["message_dict"])}))
    """)
    payload = {"a": 1, "nested": {"flag": True, "none": None}, "list": [1, "two"]}
    ex = run(ag, actor.id, payload)
    assert ex.status == "COMPLETE" and ex.exitCode == 0, logs(ag, actor.id, ex.id)
    import json
    seen = json.loads(logs(ag, actor.id, ex.id).strip().splitlines()[-1])
    # agavepy reads _abaco_Content-Type, which Abaco's worker never sets: None there and here
    assert seen == {"content_type": None, "message_dict": payload}


MIB = os.urandom(1 << 20)


def test_one_mib_binary_message_hashed_by_busybox_sha256sum(ag):
    actor = busybox_actor(ag, "echo \"MSG=${MSG-unset}\"; sha256sum /_abaco_binary_data; "
                              "ls -l /_abaco_binary_data; echo probe > /_abaco_binary_data || echo read-only")
    ex = run(ag, actor.id, binary=MIB)
    out = logs(ag, actor.id, ex.id)
    assert ex.status == "COMPLETE" and ex.exitCode == 0, out
    assert f"{hashlib.sha256(MIB).hexdigest()}  /_abaco_binary_data" in out
    assert "MSG=unset" in out
    assert str(len(MIB)) in out and "read-only" in out


def test_one_mib_binary_message_read_by_agavepy_get_binary_message(ag):
    actor = python_actor(ag, """
        import hashlib, os
        data = get_binary_message()
        print(os.environ["_abaco_Content_Type"], len(data), hashlib.sha256(data).hexdigest())
    """)
    ex = run(ag, actor.id, binary=MIB)
    out = logs(ag, actor.id, ex.id)
    assert ex.status == "COMPLETE" and ex.exitCode == 0, out
    assert f"application/octet-stream {len(MIB)} {hashlib.sha256(MIB).hexdigest()}" in out


# -- results, logs, exit codes -------------------------------------------------------------

def test_results_through_the_socket_from_agavepy_helpers_in_order(ag):
    actor = python_actor(ag, """
        send_bytes_result(b"first")
        send_python_result({"second": [2, None]})
        send_bytes_result(b"x" * 131072)
        send_bytes_result(b"y" * 131073)
        for i in range(40):  # more than a socket queues: read while the container runs
            send_bytes_result(b"n%d" % i)
        print("sent")
    """)
    ex = run(ag, actor.id)
    out = logs(ag, actor.id, ex.id)
    assert ex.status == "COMPLETE" and ex.exitCode == 0, out
    found = results(ag, actor.id, ex.id)
    assert found[0] == b"first"
    assert pickle.loads(found[1]) == {"second": [2, None]}
    assert found[2] == b"x" * 131072
    assert found[3:] == [b"n%d" % i for i in range(40)]
    assert "a result of 131073 bytes was dropped" in out and "131072" in out
    assert "sent" in out


def test_nonzero_exit_is_complete_with_stdout_stderr_and_final_state(ag):
    actor = busybox_actor(ag, "echo first; i=1; while [ $i -le 3000 ]; do echo line $i; i=$((i+1)); done; "
                              "echo to-stderr >&2; echo last; printf no-newline; exit 3")
    ex = run(ag, actor.id)
    assert ex.status == "COMPLETE"
    assert ex.exitCode == 3
    assert ex.finalState["ExitCode"] == 3 and ex.finalState["Status"] == "exited"
    assert ex.finalState["OOMKilled"] is False and ex.finalState["StartedAt"]
    assert isinstance(ex.runtime, int) and isinstance(ex.cpu, int) and ex.io == 0
    out = logs(ag, actor.id, ex.id).splitlines()
    # stdout and stderr are two pipes: Docker keeps the order within each, not across
    # them, and the runner keeps every line whole.
    assert out.count("to-stderr") == 1
    stdout = [line for line in out if line != "to-stderr"]
    assert stdout == ["first"] + [f"line {i}" for i in range(1, 3001)] + ["last", "no-newline"]


def test_logs_are_cut_at_abaco_limit_with_its_suffix(ag):
    actor = busybox_actor(ag, "yes 0123456789 | head -c 1500000; echo done >&2")
    ex = run(ag, actor.id)
    out = logs(ag, actor.id, ex.id)
    assert ex.status == "COMPLETE" and ex.exitCode == 0
    suffix = " LOG LIMIT EXCEEDED; this execution log was TRUNCATED!"
    assert out.endswith(suffix)
    assert len(out) == 1_000_000 + len(suffix)


def test_cpu_is_sampled_while_the_container_runs(ag):
    actor = busybox_actor(ag, "end=$(($(date +%s) + 3)); while [ $(date +%s) -lt $end ]; do :; done")
    ex = run(ag, actor.id)
    assert ex.status == "COMPLETE" and ex.exitCode == 0
    # A busy loop of 2-3 s: sampled, it shows CPU time even on a loaded machine, where it
    # may get a small share of a core (52 ms seen with two other busy processes).
    assert ex.cpu > 10_000_000
    assert 2 <= ex.runtime <= 5


# -- limits --------------------------------------------------------------------------------

def test_emulator_max_run_time_kills_the_container_and_keeps_partial_logs(images, docker_client):
    with AbacoEmulator(runner="docker", max_run_time=2) as ag:
        actor = busybox_actor(ag, "echo started; sleep 30; echo never")
        began = time.monotonic()
        ex = run(ag, actor.id, timeout=30)
        assert time.monotonic() - began < 15
        out = logs(ag, actor.id, ex.id)
        assert ex.status == "COMPLETE"
        assert ex.exitCode == 137
        assert out.startswith("started") and "never" not in out
        assert "maximum run time of 2 s" in out
        assert 2 <= ex.runtime <= 6
        assert not containers(docker_client, f"{LABEL_EXECUTION}={ex.id}")


def test_actor_hint_max_run_time(ag):
    actor = busybox_actor(ag, "echo started; sleep 30", hints=["max_run_time=1"])
    began = time.monotonic()
    ex = run(ag, actor.id, timeout=30)
    assert time.monotonic() - began < 12
    assert ex.status == "COMPLETE" and ex.exitCode == 137
    assert "maximum run time of 1 s" in logs(ag, actor.id, ex.id)


# -- images ----------------------------------------------------------------------------------

def test_missing_image_errors_keeps_messages_and_an_update_brings_it_back(ag):
    missing = "abaco-emulator/not-built:never"
    actor = ag.actors.add(body={"image": missing, "defaultEnvironment": {"SCRIPT": "echo ran $MSG"}})
    wait_until(lambda: ag.actors.get(actorId=actor.id).status == "ERROR", what="actor ERROR")
    current = ag.actors.get(actorId=actor.id)
    assert missing in current.statusMessage
    assert "pull='missing'" in current.statusMessage and "docker load" in current.statusMessage
    sent = [ag.actors.sendMessage(actorId=actor.id, body={"message": f"m{i}"}).executionId for i in range(2)]
    time.sleep(0.5)
    assert ag.actors.getMessages(actorId=actor.id).messages == 2
    assert {ag.actors.getExecution(actorId=actor.id, executionId=e).status for e in sent} == {"SUBMITTED"}
    ag.actors.update(actorId=actor.id, body={"image": BUSYBOX, "defaultEnvironment": {"SCRIPT": "echo ran $MSG"}})
    for i, execution_id in enumerate(sent):
        ex = ag.wait_for_execution(actor.id, execution_id, timeout=60)
        assert ex.status == "COMPLETE"
        assert logs(ag, actor.id, execution_id).strip() == f"ran m{i}"
    assert ag.actors.get(actorId=actor.id).status == "READY"


# -- concurrency -------------------------------------------------------------------------------

def _intervals(ag, actor_id, execution_ids):
    spans = []
    for execution_id in execution_ids:
        ex = ag.wait_for_execution(actor_id, execution_id, timeout=60)
        assert ex.status == "COMPLETE" and ex.exitCode == 0
        spans.append((parse_time(ex.startTime), parse_time(ex.finishTime)))
    return sorted(spans)


def test_stateless_actor_with_several_workers_runs_in_parallel(ag):
    actor = busybox_actor(ag, "sleep 2")
    ag.as_user("admin", roles=["Internal/abaco-admin"]).actors.addWorker(actorId=actor.id, body={"num": 3})
    wait_until(lambda: len([w for w in ag.actors.listWorkers(actorId=actor.id) if w.status == "READY"]) >= 3,
               what="three READY workers")
    sent = [ag.actors.sendMessage(actorId=actor.id, body={"message": str(i)}).executionId for i in range(3)]
    spans = _intervals(ag, actor.id, sent)
    latest_start = max(start for start, _ in spans)
    earliest_finish = min(finish for _, finish in spans)
    assert latest_start < earliest_finish, f"the three executions did not overlap: {spans}"


def test_stateful_actor_runs_strictly_one_at_a_time(ag):
    actor = busybox_actor(ag, "sleep 1", stateless=False)
    sent = [ag.actors.sendMessage(actorId=actor.id, body={"message": str(i)}).executionId for i in range(3)]
    spans = _intervals(ag, actor.id, sent)
    for (_, finish), (start, _) in zip(spans, spans[1:]):
        assert finish <= start, f"executions overlapped: {spans}"


# -- stopping and clean-up -------------------------------------------------------------------

def test_deleting_the_actor_force_quits_its_running_container(ag, docker_client):
    actor = busybox_actor(ag, "echo started; sleep 60")
    sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "long"})
    label = f"{LABEL_EXECUTION}={sent.executionId}"
    wait_until(lambda: [c for c in containers(docker_client, label) if c.status == "running"],
               what="a running container")
    began = time.monotonic()
    ag.actors.delete(actorId=actor.id)
    assert time.monotonic() - began < 10
    # The actor is gone, so its executions are no longer served: read the record itself.
    record = ag.engine.wait_for(sent.executionId, timeout=15)
    assert record["status"] == "COMPLETE" and record["exit_code"] == 137
    wait_until(lambda: not containers(docker_client, label), timeout=10, what="the container removed")


def test_deleting_an_execution_force_quits_it(ag):
    actor = busybox_actor(ag, "echo started; sleep 60")
    sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "long"})
    wait_until(lambda: ag.actors.getExecution(actorId=actor.id, executionId=sent.executionId).status == "RUNNING",
               what="RUNNING")
    time.sleep(0.3)
    began = time.monotonic()
    ag.engine.force_quit(sent.executionId)
    ex = ag.wait_for_execution(actor.id, sent.executionId, timeout=15)
    assert time.monotonic() - began < 10
    assert ex.status == "COMPLETE" and ex.exitCode == 137
    assert "force-quit" in logs(ag, actor.id, ex.id)


def test_zero_containers_left_after_close(images, docker_client):
    ag = AbacoEmulator(runner="docker")
    instance = f"{LABEL_INSTANCE}={ag.runner.instance}"
    try:
        actor = busybox_actor(ag, "sleep 60")
        for _ in range(2):
            ag.actors.sendMessage(actorId=actor.id, body={"message": "long"})
        wait_until(lambda: containers(docker_client, instance), what="a container")
        done = busybox_actor(ag, "echo quick")
        ex = run(ag, done.id)
        assert ex.status == "COMPLETE"
        assert not containers(docker_client, f"{LABEL_EXECUTION}={ex.id}")  # removed after its execution
    finally:
        began = time.monotonic()
        ag.close()
    assert time.monotonic() - began < 15
    assert containers(docker_client, instance) == []


CRASHING_EMULATOR = """
import os, sys, time
from abaco_emulator import AbacoEmulator
ag = AbacoEmulator(runner="docker")
actor = ag.actors.add(body={"image": %r, "defaultEnvironment": {"SCRIPT": "sleep 60"}})
sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "m"})
deadline = time.monotonic() + 30
while ag.actors.getExecution(actorId=actor.id, executionId=sent.executionId).status != "RUNNING":
    assert time.monotonic() < deadline
    time.sleep(0.05)
time.sleep(1)
print(ag.runner.instance, flush=True)
os._exit(0)  # a crash: no close(), no atexit
"""


def test_containers_of_a_crashed_emulator_are_removed_at_the_next_start(images, docker_client):
    done = subprocess.run([sys.executable, "-c", CRASHING_EMULATOR % BUSYBOX], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    label = f"{LABEL_INSTANCE}={done.stdout.strip()}"
    try:
        assert containers(docker_client, label), "the crashed emulator left no container to sweep"
        # the next start is a new process (a runner sweeps once per process)
        subprocess.run([sys.executable, "-c", "from abaco_emulator import AbacoEmulator\n"
                        "AbacoEmulator(runner='docker').close()"], check=True, timeout=60)
        assert containers(docker_client, label) == []
    finally:
        for container in containers(docker_client, label):
            container.remove(force=True)


# -- a daemon that goes away mid-run ------------------------------------------------------------

class SocketProxy:
    """A Unix-socket proxy to the Docker daemon that can be cut, as if the daemon died."""

    def __init__(self, path: str, target: str = "/var/run/docker.sock") -> None:
        self.path, self.target = path, target
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(64)
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def cut(self) -> None:
        self.listener.close()
        os.unlink(self.path)
        with self.lock:
            for sock in self.sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()


def test_a_daemon_that_dies_mid_run_gives_an_error_execution_not_a_hang(images, docker_client, tmp_path):
    if not os.path.exists("/var/run/docker.sock"):
        pytest.skip("the engine does not listen on /var/run/docker.sock")
    import docker
    proxy = SocketProxy(str(tmp_path / "docker.sock"))
    client = docker.DockerClient(base_url=f"unix://{proxy.path}", timeout=5)
    ag = AbacoEmulator(runner="docker", docker_client=client)
    instance = f"{LABEL_INSTANCE}={ag.runner.instance}"
    try:
        actor = busybox_actor(ag, "echo started; sleep 60")
        sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "m"})
        wait_until(lambda: [c for c in containers(docker_client, instance) if c.status == "running"],
                   what="a running container")
        time.sleep(0.5)
        began = time.monotonic()
        proxy.cut()
        ex = ag.wait_for_execution(actor.id, sent.executionId, timeout=30)
        assert time.monotonic() - began < 20
        assert ex.status == "ERROR"
        assert "Docker engine stopped answering" in logs(ag, actor.id, ex.id)
    finally:
        ag.close()
        for container in containers(docker_client, instance):
            container.remove(force=True)


# -- container options -------------------------------------------------------------------------

def test_configured_uid_can_read_the_binary_and_send_results(images):
    with AbacoEmulator(runner="docker", uid=65534) as ag:
        actor = python_actor(ag, """
            import os
            print("uid", os.getuid(), len(get_binary_message()))
            send_bytes_result(b"from nobody")
        """)
        ex = run(ag, actor.id, binary=b"z" * 1000)
        out = logs(ag, actor.id, ex.id)
        assert ex.status == "COMPLETE" and ex.exitCode == 0, out
        assert "uid 65534 1000" in out
        assert results(ag, actor.id, ex.id) == [b"from nobody"]
        own = busybox_actor(ag, "id -u", useContainerUid=True)
        ex = run(ag, own.id)
        assert logs(ag, own.id, ex.id).strip() == "0"  # the image's user (root), not 65534


def test_limits_and_mounts_reach_the_container(images, docker_client, tmp_path):
    (tmp_path / "hello.txt").write_text("mounted\n")
    with AbacoEmulator(runner="docker", allow_mounts=True) as ag:
        admin = ag.as_user("admin", roles=["Internal/abaco-admin"])
        actor = admin.actors.add(body={
            "image": BUSYBOX, "defaultEnvironment": {"SCRIPT": "cat /data/hello.txt; sleep 30"},
            "memLimit": "64m", "maxCpus": 1,
            "mounts": [{"hostPath": str(tmp_path), "containerPath": "/data", "mode": "ro"}]})
        sent = admin.actors.sendMessage(actorId=actor.id, body={"message": "m"})

        def running():
            execution = ag.store.get("executions", sent.executionId)
            assert execution["status"] not in ("COMPLETE", "ERROR"), logs(admin, actor.id, sent.executionId)
            return [c for c in containers(docker_client, f"{LABEL_EXECUTION}={sent.executionId}")
                    if c.status == "running"]

        found = wait_until(running, what="a running container")
        host = found[0].attrs["HostConfig"]
        assert host["Memory"] == 64 * 1024 * 1024
        assert host["NanoCpus"] == 10**9
        assert host["Privileged"] is False
        assert host["NetworkMode"] == "host"
        assert f"{tmp_path}:/data:ro" in host["Binds"]
        labels = found[0].labels
        assert labels["abaco-emulator.instance"] == ag.runner.instance
        assert labels["abaco-emulator.pid"] == str(os.getpid())
        ag.engine.force_quit(sent.executionId)
        ex = admin.wait_for_execution(actor.id, sent.executionId, timeout=15)
        assert ex.status == "COMPLETE" and ex.exitCode == 137
        assert logs(admin, actor.id, ex.id).startswith("mounted\n")


def test_privileged_actor_runs_privileged_or_the_engine_says_why_not(images):
    # Engines inside unprivileged sandboxes refuse privileged containers ("unable to apply
    # caps"); then the execution is ERROR with the engine's reason, never a hang.
    with AbacoEmulator(runner="docker", allow_privileged=True) as ag:
        admin = ag.as_user("admin", roles=["Internal/abaco-admin"])
        actor = admin.actors.add(body={"image": BUSYBOX, "privileged": True, "defaultEnvironment": {
            "SCRIPT": "mkdir -p /mnt/t && mount -t tmpfs none /mnt/t && echo privileged"}})
        ex = run(admin, actor.id)
        out = logs(admin, actor.id, ex.id)
        if ex.status == "COMPLETE":
            assert ex.exitCode == 0 and "privileged" in out, out
        else:
            assert ex.status == "ERROR" and "the Docker engine refused to run image" in out, out


def test_a_container_silent_for_longer_than_the_client_timeout_keeps_its_logs(images):
    from abaco_emulator.runners.docker import DockerRunner
    with AbacoEmulator(runner=DockerRunner(timeout=2)) as ag:
        actor = busybox_actor(ag, "echo before; sleep 4; echo after")
        ex = run(ag, actor.id, timeout=30)
        assert ex.status == "COMPLETE" and ex.exitCode == 0, logs(ag, actor.id, ex.id)
        assert logs(ag, actor.id, ex.id) == "before\nafter\n"
        assert ex.runtime >= 4


def test_pull_missing_uses_a_present_image_without_pulling(images):
    # Only a present image: nothing may be pulled here (no registry is reachable).
    with AbacoEmulator(runner="docker", pull="missing") as ag:
        actor = busybox_actor(ag, "echo present")
        ex = run(ag, actor.id)
        assert ex.status == "COMPLETE" and logs(ag, actor.id, ex.id) == "present\n"
