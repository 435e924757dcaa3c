"""The Docker engine the runner talks to: connecting, pinging, and why none answers.

Whenever no engine answers, the error says where it was looked for and how to start
one (or to use the local runner), so a user without Docker learns what to do next.
"""
from __future__ import annotations

import os
from typing import Any

from ...advice import PYTHON, Advice
from ...errors import DockerUnavailable


def how_to_start_docker(advice: Advice = PYTHON) -> str:
    """How to get an engine, or do without one, in the words of the user's context."""
    return ("Start a Docker engine: as root run `dockerd --bridge=none --iptables=false --ip6tables=false &` "
            "(Debian package docker.io), or start Docker Desktop; set DOCKER_HOST if it listens elsewhere. "
            f"Without Docker, {advice.say('local_runner')}.")


_docker_problems: list[str | None] = []  # docker_problem()'s one answer in this process


def connect(timeout: float = 30.0, advice: Advice = PYTHON) -> Any:
    """A Docker SDK client of the engine (DOCKER_HOST or the local socket), pinged."""
    client = _client(timeout, advice)
    try:
        ping(client, advice)
    except DockerUnavailable:
        client.close()
        raise
    return client


def _client(timeout: float, advice: Advice) -> Any:
    try:
        import docker
    except ImportError as exc:  # a declared dependency, but say so clearly
        raise DockerUnavailable(f"the Docker SDK is not installed (pip install docker): {exc}") from exc
    try:
        # Every request of the client times out: a daemon that stops answering
        # fails an execution instead of hanging it.
        return docker.from_env(timeout=timeout, max_pool_size=64)
    except Exception as exc:
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        raise DockerUnavailable(f"no Docker engine answers at {where} ({exc}). {how_to_start_docker(advice)}") \
            from exc


def ping(client: Any, advice: Advice = PYTHON) -> None:
    """Raise DockerUnavailable, saying where and how to start an engine, unless `client`'s answers."""
    try:
        client.ping()
    except Exception as exc:
        raise DockerUnavailable(f"no Docker engine answers at {address(client)} ({type(exc).__name__}: {exc}). "
                                f"{how_to_start_docker(advice)}") from exc


def address(client: Any) -> str:
    """Where a client talks to its daemon, as a user would write it."""
    api = getattr(client, "api", None)
    path = getattr(getattr(api, "_custom_adapter", None), "socket_path", None)
    if path:
        return f"unix://{path}"
    return str(getattr(api, "base_url", None) or "the configured address")


def docker_problem() -> str | None:
    """Why no Docker engine can be used here, or None when one answers (asked once per process)."""
    if not _docker_problems:
        try:
            connect(5.0).close()
            _docker_problems.append(None)
        except DockerUnavailable as exc:
            _docker_problems.append(str(exc))
    return _docker_problems[0]
