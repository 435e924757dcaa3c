"""`AbacoEmulator`: the whole service in one object, used where an agavepy client would be."""
from __future__ import annotations

import atexit
import weakref
from datetime import datetime
from typing import Any, Callable, Iterable, Mapping, Sequence

from .advice import PYTHON, Advice
from .attrdict import AttrDict
from .auth import DEFAULT_TAPIS_TENANT, DEFAULT_TENANT, Caller, TokenRegistry, internal_role, with_user_roles
from .client import ActorsClient, ConfigsClient
from .clock import Clock
from .dialects.abaco_v2 import AbacoV2
from .dialects.tapis_v3 import TapisV3
from .engine import Engine
from .errors import EmulatorError
from .events import EventDispatcher
from .models import PULL_POLICIES
from .operations import RESERVED_WORDS
from .runners.base import Runner
from .runners.local import LocalRunner
from .scheduler import LogSettings, Scheduler
from .sealing import sealer_for
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
    configs: ConfigsClient
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

    def advance_time(self, seconds: float) -> datetime:
        """Move the emulator's clock `seconds` forward (emulator only): every cron execution
        and log expiry due in that span happens before it returns (cron executions are
        queued: `drain` waits for them). The emulator's new now."""
        moment = self._emulator.scheduler.advance(seconds)
        self._emulator.raise_background_errors()
        return moment


class UserView(_View):
    """The same emulator acting as another user (`ag.as_user(name, roles=...)`)."""

    def __init__(self, emulator: "AbacoEmulator", caller: Caller) -> None:
        self._emulator = emulator
        self.user = caller.username
        self.roles = caller.roles
        caller = with_user_roles(caller, emulator.user_roles)
        self.actors = ActorsClient(emulator.service, caller, emulator.dialect)
        self.configs = ConfigsClient(emulator.service, caller, emulator.dialect)

    def as_user(self, name: str, roles: Iterable[str] = ()) -> "UserView":
        return self._emulator.as_user(name, roles)


class AbacoEmulator(_View):
    """Abaco's actors service on this machine: `ag.actors.*` as agavepy offers it.

    `db_path=None` keeps everything in memory; a path persists state in a TinyDB file
    that survives restarts (queued messages are executed after a restart). `runner`
    is "docker" (each execution a container) or "local" (registered handlers).
    `config_key` (a Fernet key) seals secret actor configs; without it a `db_path` store
    keeps its own key in `<db_path>.config-key` (see sealing.py).
    `close()` stops the workers and removes every container the emulator started.
    Actors' webhooks are sent to loopback addresses only, unless `allow_remote_webhooks`;
    logs live `log_ex` seconds (an actor's `logEx`, capped at `log_ex_limit`), on the
    emulator's clock, which `advance_time` moves.

    The same state is served as Abaco v2 and as Tapis v3 (`/v3/actors`): its tenant is
    named `tenant` in v2 and `tapis_tenant` in v3, so one actor is seen through agavepy
    and tapipy. `user_roles` gives users roles whatever credential names them (there is
    no Security Kernel): `{"alice": ["abaco_admin"]}`; v2 names (`Internal/abaco-admin`,
    `admin`) are understood too. `v3_case` is the v3 `web_case`: "snake" or "camel".
    `tapis_passwords` ({"alice": "secret"}) restricts tapipy's password grant to those
    users and passwords; without it any password gets a token.
    """

    def __init__(self, *, db_path: str | None = None, runner: str | Runner = "docker", user: str = "testuser",
                 roles: Iterable[str] = (), tenant: str = DEFAULT_TENANT, api_server: str | None = None,
                 max_run_time: float | None = None, pull: str = "never", uid: int | None = None,
                 network_mode: str = "host", allow_privileged: bool = False, allow_mounts: bool = False,
                 allow_remote_webhooks: bool = False, log_ex: int = LogSettings.default,
                 log_ex_limit: int = LogSettings.limit, shutdown_grace: float = 10.0,
                 docker_client: Any = None, config_key: str | bytes | None = None,
                 user_roles: Mapping[str, Iterable[str]] | None = None,
                 tapis_tenant: str = DEFAULT_TAPIS_TENANT, v3_case: str = "snake",
                 tapis_passwords: Mapping[str, str] | None = None, advice: str = "python") -> None:
        if isinstance(user_roles, (str, bytes)) or any(isinstance(r, str) for r in (user_roles or {}).values()):
            raise ValueError("user_roles maps each user to a list of roles: {'alice': ['abaco_admin']}")
        self.user_roles = {user: frozenset(internal_role(r) for r in roles)
                           for user, roles in (user_roles or {}).items()}
        self.tapis_tenant = tapis_tenant
        # None: `POST /v3/oauth2/tokens` takes any password; else only these users, with theirs
        self.tapis_passwords = dict(tapis_passwords) if tapis_passwords is not None else None
        self.v3_dialect = TapisV3(v3_case)
        if pull not in PULL_POLICIES:
            raise ValueError(f"pull must be one of {', '.join(PULL_POLICIES)}, not {pull!r}")
        self._emulator = self
        self._closed = False
        self.shutdown_grace = shutdown_grace
        # `advice`: whose words errors use to say what to do ("python", "cli", "pytest": advice.py)
        self.runner = make_runner(runner, pull=pull, uid=uid, network_mode=network_mode,
                                  docker_client=docker_client, advice=Advice(advice))
        self.store = Store(db_path)
        try:
            sealer = sealer_for(db_path, config_key)
        except BaseException:
            self.store.close()
            raise
        self.tokens = TokenRegistry()
        self.clock = Clock()
        self.engine = Engine(self.store, self.runner, self.tokens, tenant=tenant, max_run_time=max_run_time,
                             allow_privileged=allow_privileged, clock=self.clock)
        # Before the engine starts: the clock is set back to where it was, and every status
        # change and execution from the first one on makes its events and log expiry.
        self.scheduler = Scheduler(self.store, self.engine, self.clock, LogSettings(log_ex, log_ex_limit))
        self.events = EventDispatcher(self.store, self.engine, self.clock,
                                      allow_remote_webhooks=allow_remote_webhooks)
        options = ServiceOptions(tenant=tenant, allow_mounts=allow_mounts, reserved_aliases=RESERVED_WORDS)
        self.service = ActorsService(self.store, self.engine, options, self.scheduler, sealer)
        self.engine.extra_environment = self.service.configs.execution_environment
        self._private_server: Any = None
        self.engine.start_api = self._serve_privately
        if api_server:
            self.set_api_server(api_server)
        self.dialect = AbacoV2()
        self.user = user
        self.roles = frozenset(roles)
        caller = with_user_roles(Caller(user, self.roles, tenant), self.user_roles)
        self.actors = ActorsClient(self.service, caller, self.dialect)
        self.configs = ConfigsClient(self.service, caller, self.dialect)
        self.events.start()
        self.scheduler.start()
        self.engine.start()
        _open_emulators.add(self)

    def set_api_server(self, url: str) -> None:
        """Where the API is served: the base of `_links` and what containers call back."""
        self.engine.start_api = None  # served: no private API is needed
        url = url.rstrip("/")
        self.service.options.api_server = self.engine.api_server = self.engine.shown_api_server = url

    def _serve_privately(self) -> None:
        """Not served, and an execution starts: its container gets a private API of this
        emulator alone (`http_server.serve_callbacks`), stopped by `close()`."""
        from .http_server import serve_callbacks  # the transport, imported only when needed

        self._private_server = serve_callbacks(self)

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

        New messages are refused (503) at once; running executions get `shutdown_grace`
        seconds to finish (with `finish_running`, `timeout` seconds; None for as long as
        they take), then they are stopped. One stopped so is not recorded: like every
        queued message, it stays in a `db_path` store and runs when it is opened again.
        """
        if self._closed:
            return
        self._closed = True
        _open_emulators.discard(self)
        try:
            self.scheduler.close()
            self.engine.close(timeout if finish_running else self.shutdown_grace)
        except KeyboardInterrupt:  # no more waiting: stop what still runs
            self.engine.hurry()
            self.engine.close()
            raise
        finally:
            if self._private_server is not None:
                self._private_server.close()
            self.events.close()
            self.store.close()

    def __enter__(self) -> "AbacoEmulator":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
