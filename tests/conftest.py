"""Shared fixtures of abaco-emulator's own test suite."""
from __future__ import annotations

import pytest

from abaco_emulator import AbacoEmulator


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


_docker_answer: list[str | None] = []


def _docker_problem() -> str | None:
    """Why Docker cannot be used here, or None when an engine answers (asked once)."""
    if not _docker_answer:
        try:
            import docker

            client = docker.from_env(timeout=5)
            client.ping()
            client.close()
            _docker_answer.append(None)
        except Exception as exc:  # any failure means: no usable engine
            _docker_answer.append(f"no Docker engine answers ({exc.__class__.__name__}: {exc})")
    return _docker_answer[0]


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("docker") is not None:
        problem = _docker_problem()
        if problem:
            pytest.skip(problem)
