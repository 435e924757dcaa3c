"""Shared fixtures of abaco-emulator's own test suite."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from abaco_emulator import AbacoEmulator

ROOT = Path(__file__).resolve().parents[1]
BUSYBOX = "abaco-emulator/busybox:test"
PYTHON = "abaco-emulator/python:test"

pytest_plugins = ["pytester"]  # tests/transports/test_pytest_plugin.py runs the plugin as a downstream project would


@pytest.fixture(scope="session")
def docker_client():
    """A Docker SDK client of the engine, for tests that look at containers themselves."""
    docker = pytest.importorskip("docker")
    client = docker.from_env(timeout=30)
    yield client
    client.close()


@pytest.fixture(scope="session")
def images(docker_client):
    """The test images (busybox, python+agavepy), built once if any is missing."""
    import docker.errors
    missing = []
    for image in (BUSYBOX, PYTHON):
        try:
            docker_client.images.get(image)
        except docker.errors.ImageNotFound:
            missing.append(image)
    if missing:
        subprocess.run([str(ROOT / "fixtures" / "build_images.sh")], check=True, timeout=600)
    return BUSYBOX, PYTHON


@pytest.fixture
def ag():
    """A fresh in-memory emulator with the local runner, acting as `testuser`.

    tests/api/conftest.py overrides it with one per transport (in-process, agavepy)."""
    with AbacoEmulator(runner="local") as emulator:
        yield emulator
        emulator.raise_background_errors()


@pytest.fixture
def admin(ag):
    """The same emulator acting as an Abaco admin."""
    return ag.as_user("admin", roles=["Internal/abaco-admin"])



def pytest_sessionfinish(session, exitstatus):
    """A whole run (not interrupted) leaves no container and no workdir of this process."""
    import os
    import tempfile
    if exitstatus not in (0, 1) or session.shouldstop or not session.testscollected:
        return
    from abaco_emulator.runners.docker import LABEL_INSTANCE, LABEL_PID, DockerRunner, docker_problem
    left = [n for n in os.listdir(tempfile.gettempdir())
            if n.startswith((f"abaco-docker-{os.getpid()}-", f"abaco-local-{os.getpid()}-"))]
    if not docker_problem():  # this process's containers: the engine is shared with other runs
        client = DockerRunner.connect(10.0)
        mine = {"label": [LABEL_INSTANCE, f"{LABEL_PID}={os.getpid()}"]}
        left += [c.name for c in client.containers.list(all=True, filters=mine, ignore_removed=True)]
        client.close()
    left += _open_emulators_and_threads()
    if left:
        print(f"\nabaco-emulator leaked after the test session: {left}")
        session.exitstatus = 1


def _open_emulators_and_threads(grace: float = 5.0) -> list[str]:
    """Emulators never closed, and emulator or non-daemon threads still alive (after a
    moment for those of the last closed emulator to end)."""
    import threading
    import time
    from abaco_emulator.emulator import _open_emulators

    def alive() -> list[str]:
        return [f"thread {t.name}" for t in threading.enumerate() if t is not threading.main_thread()
                and (t.name.startswith(("abaco-", "waitress-")) or not t.daemon)]

    deadline = time.monotonic() + grace
    while alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    return [f"open emulator {e!r}" for e in list(_open_emulators)] + alive()
