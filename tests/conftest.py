"""Shared fixtures of abaco-emulator's own test suite."""
from __future__ import annotations

import pytest

from abaco_emulator import AbacoEmulator

pytest_plugins = ["pytester"]  # tests/test_pytest_plugin.py runs the plugin as a downstream project would


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

