"""`AbacoEmulator`: the whole service in one object, used where an agavepy client would be."""
from __future__ import annotations

import atexit
import weakref
from typing import Any, Callable, Iterable, Sequence

from .advice import PYTHON, Advice
from .attrdict import AttrDict
from .auth import DEFAULT_TENANT, Caller, TokenRegistry
from .client import ActorsClient
from .dialects.abaco_v2 import AbacoV2
from .engine import Engine
from .errors import EmulatorError
from .models import PULL_POLICIES
from .operations import RESERVED_WORDS
from .runners.base import Runner
from .runners.local import LocalRunner
from .service import ActorsService, ServiceOptions
from .store import Store

_open_emulators: "weakref.WeakSet[AbacoEmulator]" = weakref.WeakSet()


@atexit.register
def _close_open_emulators() -> None:
    """No container outlives the interpreter, even when a test forgot close()."""
    for emulator in list(_open_emulators):
        emulator.close()


def make_runner(runner: str | Runner, *, pull: str, uid: int | None, network_mode: str,
                docker_client: Any = None, advice: Advice = PYTHON) -> Runner:
    """The runner an emulator was asked for by name (or the instance it was given)."""
    if isinstance(runner, Runner):
        return runner
    if runner == "local":
        return LocalRunner(advice)
    if runner == "docker":
        from .runners.docker import DockerRunner  # imported late: the local runner needs no Docker
        return DockerRunner(pull=pull, uid=uid, network_mode=network_mode, client=docker_client, advice=advice)
    raise ValueError(f"unknown runner {runner!r}: use 'docker' or 'local'")


class _View:
    """Shared behaviour of the emulator and of its views as other users."""

    actors: ActorsClient
    _emulator: "AbacoEmulator"

    def wait_for_execution(self, actor_id: str, execution_id: str, timeout: float = 30) -> AttrDict:
        """The execution once it is COMPLETE or ERROR; ExecutionTimeout after `timeout` s."""
        self.actors.getExecution(actorId=actor_id, executionId=execution_id)  # existence and permission
        self._emulator.engine.wait_for(execution_id, timeout)
        self._emulator.raise_background_errors()
        return self.actors.getExecution(actorId=actor_id, executionId=execution_id)

    def drain(self, timeout: float = 30) -> None:
        """Wait until every mailbox is empty and no execution runs."""
        self._emulator.engine.drain(timeout)
        self._emulator.raise_background_errors()


class UserView(_View):
    """The same emulator acting as another user (`ag.as_user(name, roles=...)`)."""

    def __init__(self, emulator: "AbacoEmulator", caller: Caller) -> None:
        self._emulator = emulator
        self.user = caller.username
        self.roles = caller.roles
        self.actors = ActorsClient(emulator.service, caller, emulator.dialect)

    def as_user(self, name: str, roles: Iterable[str] = ()) -> "UserView":
        return self._emulator.as_user(name, roles)


class AbacoEmulator(_View):
    """Abaco's actors service on this machine: `ag.actors.*` as agavepy offers it.

    `db_path=None` keeps everything in memory; a path persists state in a TinyDB file
    that survives restarts (queued messages are executed after a restart). `runner`
    is "docker" (each execution a container) or "local" (registered handlers).
    `close()` stops the workers and removes every container the emulator started.
    """

    def __init__(self, *, db_path: str | None = None, runner: str | Runner = "docker", user: str = "testuser",
                 roles: Iterable[str] = (), tenant: str = DEFAULT_TENANT, api_server: str | None = None,
                 max_run_time: float | None = None, pull: str = "never", uid: int | None = None,
                 network_mode: str = "host", allow_privileged: bool = False, allow_mounts: bool = False,
                 docker_client: Any = None, advice: str = "python") -> None:
        if pull not in PULL_POLICIES:
            raise ValueError(f"pull must be one of {', '.join(PULL_POLICIES)}, not {pull!r}")
        self._emulator = self
        self._closed = False
        # `advice`: whose words errors use to say what to do ("python", "cli", "pytest": advice.py)
        self.runner = make_runner(runner, pull=pull, uid=uid, network_mode=network_mode,
                                  docker_client=docker_client, advice=Advice(advice))
        self.store = Store(db_path)
        self.tokens = TokenRegistry()
        self.engine = Engine(self.store, self.runner, self.tokens, tenant=tenant, max_run_time=max_run_time,
                             allow_privileged=allow_privileged)
        options = ServiceOptions(tenant=tenant, allow_mounts=allow_mounts, reserved_aliases=RESERVED_WORDS)
        self.service = ActorsService(self.store, self.engine, options)
        if api_server:
            self.set_api_server(api_server)
        self.dialect = AbacoV2()
        self.user = user
        self.roles = frozenset(roles)
        self.actors = ActorsClient(self.service, Caller(user, self.roles, tenant), self.dialect)
        self.engine.start()
        _open_emulators.add(self)

    def set_api_server(self, url: str) -> None:
        """Where the API is served: the base of `_links` and what containers call back."""
        self.service.options.api_server = self.engine.api_server = url.rstrip("/")

    def as_user(self, name: str, roles: Iterable[str] = ()) -> UserView:
        """A view of this emulator acting as `name` (permissions, nonces, sharing)."""
        return UserView(self, Caller(name, frozenset(roles), self.service.options.tenant))

    def register_image(self, image: str, handler: Callable[[AttrDict], Any] | None = None, *,
                       command: Sequence[str] | None = None) -> None:
        """Tell the local runner what `image` runs: a Python callable or a command.

        Actors already in ERROR for want of this image (a reopened `db_path`) start again.
        """
        if not isinstance(self.runner, LocalRunner):
            raise EmulatorError("register_image is for the local runner: create the emulator with runner='local'")
        self.runner.register(image, handler, command)
        self.engine.retry_image(image)

    def raise_background_errors(self) -> None:
        """Re-raise, in the caller's thread, an unexpected error of a worker thread."""
        if self.engine.errors:
            error = self.engine.errors.pop(0)
            raise EmulatorError(f"a worker thread failed: {error!r}") from error

    def close(self, *, finish_running: bool = False, timeout: float | None = 30.0) -> None:
        """Stop every worker, remove every container, and close the store.

        Running executions are force-quit, unless `finish_running` (then they may run
        for up to `timeout` seconds, None for as long as they take). Queued messages
        stay in a `db_path` store and run when it is opened again.
        """
        if self._closed:
            return
        self._closed = True
        _open_emulators.discard(self)
        try:
            self.engine.close(timeout, finish_running=finish_running)
        except KeyboardInterrupt:  # no more waiting: force-quit what still runs
            self.engine.close()
            raise
        finally:
            self.store.close()

    def __enter__(self) -> "AbacoEmulator":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
