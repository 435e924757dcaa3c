"""Leaks: an emulator (local or Docker runner) or a server that ran executions and was
closed leaves no thread, temporary directory, container or file descriptor behind.

Each test warms up once (imports, the Docker client's first connection), takes a
baseline, then opens and closes three times: a leak of even one descriptor per cycle
exceeds the slack.
"""
from __future__ import annotations

import os
import sys
import tempfile
import threading
import time

import pytest
import requests

from abaco_emulator import AbacoEmulator, serve

BUSYBOX = "abaco-emulator/busybox:test"

FD_SLACK = 2
CYCLES = 3
WORKDIR_PREFIXES = ("abaco-docker-", "abaco-local-")


def our_threads() -> set[int]:
    return {t.ident for t in threading.enumerate() if t.name.startswith(("abaco-", "waitress-"))}


def our_workdirs() -> set[str]:
    mine = tuple(f"{prefix}{os.getpid()}-" for prefix in WORKDIR_PREFIXES)
    return {name for name in os.listdir(tempfile.gettempdir()) if name.startswith(mine)}


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class Baseline:
    """What exists before; `assert_clean()` waits (briefly) for threads that are ending."""

    def __init__(self) -> None:
        self.threads = our_threads()
        self.workdirs = our_workdirs()
        self.fds = open_fds()

    def leftovers(self) -> list[str]:
        problems = []
        threads = [t.name for t in threading.enumerate() if t.ident in our_threads() - self.threads]
        if threads:
            problems.append(f"threads {threads}")
        if our_workdirs() - self.workdirs:
            problems.append(f"temporary directories {sorted(our_workdirs() - self.workdirs)}")
        if open_fds() > self.fds + FD_SLACK:
            problems.append(f"{open_fds() - self.fds} more open file descriptors ({os.listdir('/proc/self/fd')})")
        return problems

    def assert_clean(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while (problems := self.leftovers()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not problems, "; ".join(problems)


def run_local_emulator() -> None:
    with AbacoEmulator(runner="local") as ag:
        ag.register_image("handler:1", lambda ctx: ctx["raw_message"])
        ag.register_image("command:1", command=[sys.executable, "-c", "import os; print(os.environ['MSG'])"])
        for image in ("handler:1", "command:1"):
            actor = ag.actors.add(body={"image": image})
            for n in range(2):
                sent = ag.actors.sendMessage(actorId=actor.id, body={"message": f"m{n}"})
                assert ag.wait_for_execution(actor.id, sent.executionId).status == "COMPLETE"


def test_closed_local_emulators_leave_no_thread_workdir_or_descriptor():
    run_local_emulator()
    baseline = Baseline()
    for _ in range(CYCLES):
        run_local_emulator()
    baseline.assert_clean()


def run_server() -> None:
    with serve(runner="local") as server:
        server.emulator.register_image("handler:1", lambda ctx: ctx["raw_message"])
        with requests.Session() as session:
            session.headers.update(server.headers())
            actor = session.post(server.api_url, json={"image": "handler:1"}, timeout=10).json()["result"]
            for n in range(2):
                answer = session.post(f"{server.api_url}/{actor['id']}/messages", json={"message": f"m{n}"},
                                      timeout=10)
                execution_id = answer.json()["result"]["executionId"]
                server.emulator.wait_for_execution(actor["id"], execution_id)
            assert session.get(f"{server.api_url}/{actor['id']}/executions", timeout=10).status_code == 200


def test_closed_servers_leave_no_thread_workdir_or_descriptor():
    run_server()
    baseline = Baseline()
    for _ in range(CYCLES):
        run_server()
    baseline.assert_clean()


def run_docker_emulator() -> str:
    """Two executions in containers; the runner's instance id (the label of its containers)."""
    with AbacoEmulator(runner="docker") as ag:
        actor = ag.actors.add(body={"image": BUSYBOX, "defaultEnvironment": {"SCRIPT": "echo hello $MSG"}})
        for n in range(2):
            sent = ag.actors.sendMessage(actorId=actor.id, body={"message": f"m{n}"})
            assert ag.wait_for_execution(actor.id, sent.executionId, timeout=60).status == "COMPLETE"
        return ag.runner.instance


@pytest.mark.docker
def test_closed_docker_emulators_leave_no_container_thread_workdir_or_descriptor(docker_client, images):
    from abaco_emulator.runners.docker import docker_problem
    if docker_problem():
        pytest.skip(f"no Docker engine: {docker_problem()}")
    instances = [run_docker_emulator()]
    baseline = Baseline()
    instances += [run_docker_emulator() for _ in range(CYCLES)]
    baseline.assert_clean()
    # listed only now: the test's own Docker client opens connections of its own
    for instance in instances:
        left = docker_client.containers.list(all=True, filters={"label": f"abaco-emulator.instance={instance}"},
                                             ignore_removed=True)
        assert not left, f"containers left by a closed emulator: {[c.name for c in left]}"
