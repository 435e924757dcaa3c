"""Shared fixtures of abaco-emulator's own test suite."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from abaco_emulator import AbacoEmulator

ROOT = Path(__file__).resolve().parents[1]
BUSYBOX = "abaco-emulator/busybox:test"
PYTHON = "abaco-emulator/python:test"

pytest_plugins = ["pytester"]  # tests/test_pytest_plugin.py runs the plugin as a downstream project would


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
    """A fresh in-memory emulator with the local runner, acting as `testuser`."""
    with AbacoEmulator(runner="local") as emulator:
        yield emulator
        emulator.raise_background_errors()


@pytest.fixture
def admin(ag):
    """The same emulator acting as an Abaco admin."""
    return ag.as_user("admin", roles=["Internal/abaco-admin"])

