"""pytest plugin (entry point `pytest11`): the fixtures `abaco`, `abaco_server`, `agave` and `tapis`.

Installing abaco-emulator is all a project does to use them. Configuration comes from
command-line options, ini keys, or by overriding the `abaco_options` fixture:

    --abaco-runner / abaco_runner             docker (default) or local
    --abaco-pull / abaco_pull                 never (default), missing or always
    --abaco-max-run-time / abaco_max_run_time seconds an execution may run
    --abaco-user / abaco_user                 the default user (testuser)
    --abaco-db / abaco_db                     a directory: each test persists to its own
                                              <test id>.json there (default: in memory)

Tests marked `docker` are skipped, with the reason, where no Docker engine answers.
An unexpected error in a worker thread fails the test that caused it.
"""
from __future__ import annotations

import os
import re
from typing import Any, Iterator

import pytest

from .emulator import AbacoEmulator

_OPTIONS = (
    ("runner", "docker", "runner of executions: docker or local"),
    ("pull", "never", "image pull policy of the docker runner: never, missing or always"),
    ("max_run_time", None, "maximum run time of an execution in seconds"),
    ("user", "testuser", "the user the fixtures act as"),
    ("db", "", "directory of per-test database files, kept after the test (default: in memory)"),
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("abaco", "abaco-emulator fixtures")
    for name, default, help_text in _OPTIONS:
        flag = "--abaco-" + name.replace("_", "-")
        group.addoption(flag, dest=f"abaco_{name}", default=None, help=f"{help_text} (default: {default})")
        parser.addini(f"abaco_{name}", help=f"{help_text} (default: {default})", default=default)


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker, and patch agavepy (when it is imported) so it reaches plain-HTTP emulators."""
    from .agave import patch_agavepy_on_import

    config.addinivalue_line("markers", "docker: the test needs a Docker engine; skipped where none answers")
    patch_agavepy_on_import()


def _setting(config: pytest.Config, name: str) -> Any:
    value = config.getoption(f"abaco_{name}")
    return value if value is not None else config.getini(f"abaco_{name}")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("docker") is not None:
        from .runners.docker import docker_problem

        problem = docker_problem()
        if problem:
            pytest.skip(problem)


@pytest.fixture
def abaco_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Keyword options of `AbacoEmulator` for the fixtures; override to change them."""
    config = request.config
    max_run_time = _setting(config, "max_run_time")
    options = {
        "runner": _setting(config, "runner"),
        "pull": _setting(config, "pull"),
        "max_run_time": float(max_run_time) if max_run_time not in (None, "") else None,
        "user": _setting(config, "user"),
    }
    directory = _setting(config, "db")
    if directory:
        options["db_path"] = _fresh_database(directory, request.node.nodeid)
    return options


def _fresh_database(directory: str, nodeid: str) -> str:
    """`<directory>/<test id>.json`, emptied: each test starts afresh, the file stays to look at."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[:200] or "abaco"
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name + ".json")
    for leftover in (path, path + ".journal"):
        if os.path.exists(leftover):
            os.remove(leftover)
    return path


@pytest.fixture(scope="session")
def _abaco_docker_client() -> Iterator[Any]:
    """One Docker client for every emulator of the session (a new one costs a connection
    and a ping per test); None where no engine answers, so the emulator says why."""
    from .errors import DockerUnavailable
    from .runners.docker import DockerRunner

    try:
        client = DockerRunner.connect()
    except DockerUnavailable:
        yield None
        return
    try:
        yield client
    finally:
        client.close()


def _emulator_options(request: pytest.FixtureRequest, options: dict[str, Any]) -> dict[str, Any]:
    options = dict(options)
    options.setdefault("advice", "pytest")  # errors name the plugin's options, not Python's
    if options.get("runner", "docker") == "docker" and "docker_client" not in options:
        options["docker_client"] = request.getfixturevalue("_abaco_docker_client")
    return options


@pytest.fixture
def abaco(request: pytest.FixtureRequest, abaco_options: dict[str, Any]) -> Iterator[AbacoEmulator]:
    """A fresh in-process emulator for one test: `abaco.actors.*` as agavepy offers it."""
    with AbacoEmulator(**_emulator_options(request, abaco_options)) as emulator:
        yield emulator
        emulator.raise_background_errors()


@pytest.fixture
def abaco_server(request: pytest.FixtureRequest, abaco_options: dict[str, Any]) -> Iterator[Any]:
    """A running HTTP emulator for one test, with `.url`, `.token` and `.emulator`."""
    from .server import serve

    with serve(**_emulator_options(request, abaco_options)) as server:
        yield server
        server.emulator.raise_background_errors()


@pytest.fixture
def agave(abaco_server: Any) -> Any:
    """A real agavepy client bound to `abaco_server` (skipped without agavepy)."""
    pytest.importorskip("agavepy", reason="the agave fixture needs agavepy: pip install agavepy")
    from .agave import agave_client

    return agave_client(abaco_server.url, abaco_server.token)


@pytest.fixture
def tapis(abaco_server: Any) -> Any:
    """A real tapipy client bound to `abaco_server`, acting as its default user in its
    Tapis tenant (skipped without tapipy)."""
    from .tapipy_client import MISSING, tapis_client

    pytest.importorskip("tapipy", reason=MISSING)
    emulator = abaco_server.emulator
    return tapis_client(abaco_server.url, emulator.user, emulator.tapis_tenant, emulator.roles)
