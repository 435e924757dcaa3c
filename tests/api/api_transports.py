"""The transports the API behaviour tests run through, each behind the same small interface.

A test of `tests/api/` takes the fixture `ag` and uses `ag.actors.*`, `ag.register_image`,
`ag.wait_for_execution`, `ag.drain`, `ag.as_user(name, roles=...)`, `ag.user` and, to
look inside, `ag.store`, `ag.engine` and `ag.service`. `Transport` names that interface.

- `in-process`: an `AbacoEmulator(runner="local")` is the transport itself.
- `agavepy`: `AgavepyTransport`, an `abaco_emulator.serve(runner="local", tokens=...)`
  server reached with the real agavepy client (`abaco_emulator.agave_client`); each
  user of `as_user` gets a bearer token registered on the server and a client of its own.

A new transport (Tapis v3 over HTTP, say) is one more class here and one more name in
`TRANSPORTS`; the tests do not change.

Building an agavepy client costs about 0.25 s (agavepy renders and parses its whole
resource listing), ten times what the test it serves costs. So `AgavepyClients` keeps
the clients of a whole session, keyed by URL and token, and every test's server listens
on the same port when it can: the URL, and with it every client, stays the same from one
test to the next. Tokens are derived from the user and roles, so a cached client's token
means the same user on each new server. State is never shared: each test gets a server
and an emulator of its own.
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Iterable, Protocol

import requests

from abaco_emulator import AbacoEmulator, AttrDict, agave_client, serve
from abaco_emulator.engine import Engine
from abaco_emulator.server import EmulatorServer
from abaco_emulator.auth import Caller
from abaco_emulator.service import ActorsService
from abaco_emulator.store import Store

IN_PROCESS = "in-process"
AGAVEPY = "agavepy"
TRANSPORTS = (IN_PROCESS, AGAVEPY)


class Transport(Protocol):
    """What the API tests use of `ag`, whichever way it reaches the emulator."""

    actors: Any
    user: str

    def register_image(self, image: str, handler: Any = None, **options: Any) -> None: ...
    def wait_for_execution(self, actor_id: str, execution_id: str, timeout: float = 30) -> AttrDict: ...
    def drain(self, timeout: float = 30) -> None: ...
    def as_user(self, name: str, roles: Iterable[str] = ()) -> "Transport": ...
    def advance_time(self, seconds: float) -> datetime: ...

    @property
    def store(self) -> Store: ...
    @property
    def engine(self) -> Engine: ...
    @property
    def service(self) -> ActorsService: ...


class AgavepyClients:
    """agavepy clients for a whole session, and the port every test's server tries first."""

    def __init__(self) -> None:
        self.port = 0  # none chosen yet: the first server picks a free one
        self._clients: dict[tuple[str, str], Any] = {}

    def serve(self, **options: Any) -> EmulatorServer:
        """A new server on the session's port, or on a free one if that is taken."""
        if self.port:
            try:
                return serve(port=self.port, **options)
            except OSError:  # another process took the port between two tests
                pass
        server = serve(port=0, **options)
        self.port = server.port
        return server

    def client(self, url: str, token: str) -> Any:
        if (url, token) not in self._clients:
            self._clients[(url, token)] = agave_client(url, token)
        return self._clients[(url, token)]


def token_for(name: str, roles: Iterable[str]) -> str:
    """The same bearer token for the same user and roles, on every server of the session."""
    roles_key = ",".join(sorted(roles))
    return f"api-test-{name}-{hashlib.sha256(f'{name}:{roles_key}'.encode()).hexdigest()[:16]}"


class AgavepyTransport:
    """A served emulator acting as one user, through the real agavepy client.

    The helpers real code lacks (`wait_for_execution`, `drain`, `register_image`) ask
    the served emulator directly, as the in-process facade does; what a client would do
    (checking the execution exists and may be seen, reading it back) goes over HTTP.
    """

    def __init__(self, server: EmulatorServer, clients: AgavepyClients, name: str, roles: Iterable[str] = ()) -> None:
        self.server = server
        self._clients = clients
        self.user = name
        self.roles = frozenset(roles)
        token = self.token = token_for(name, self.roles)
        emulator = server.emulator
        emulator.tokens.add(token, Caller(name, self.roles, emulator.service.options.tenant))
        self.actors = clients.client(server.url, token).actors

    @classmethod
    def start(cls, clients: AgavepyClients, **options: Any) -> "AgavepyTransport":
        """A new server (local runner) and its default user, `testuser`, with no roles;
        `options` are more keyword options of the emulator (`log_ex`, ...)."""
        user = "testuser"
        server = clients.serve(runner="local", user=user, tokens={token_for(user, ()): user}, **options)
        return cls(server, clients, user)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def emulator(self) -> AbacoEmulator:
        return self.server.emulator

    @property
    def store(self) -> Store:
        return self.emulator.store

    @property
    def engine(self) -> Engine:
        return self.emulator.engine

    @property
    def service(self) -> ActorsService:
        return self.emulator.service

    def as_user(self, name: str, roles: Iterable[str] = ()) -> "AgavepyTransport":
        return AgavepyTransport(self.server, self._clients, name, roles)

    def register_image(self, image: str, handler: Any = None, **options: Any) -> None:
        self.emulator.register_image(image, handler, **options)

    def wait_for_execution(self, actor_id: str, execution_id: str, timeout: float = 30) -> AttrDict:
        self.actors.getExecution(actorId=actor_id, executionId=execution_id)  # existence and permission
        self.engine.wait_for(execution_id, timeout)
        self.emulator.raise_background_errors()
        return self.actors.getExecution(actorId=actor_id, executionId=execution_id)

    def drain(self, timeout: float = 30) -> None:
        self.emulator.drain(timeout)

    def advance_time(self, seconds: float) -> datetime:
        """The emulator-only route `POST /emulator/v1/clock`, as a non-Python user moves the
        clock; an error answer raises requests.HTTPError (as agavepy's calls do)."""
        answer = requests.post(f"{self.server.url}/emulator/v1/clock", json={"seconds": seconds},
                               headers={"Authorization": f"Bearer {self.token}"}, timeout=60)
        answer.raise_for_status()
        return datetime.fromisoformat(answer.json()["result"]["now"].replace("Z", "+00:00"))

    def close(self) -> None:
        """Stop the server and its emulator; re-raise a worker thread's unexpected error."""
        try:
            self.emulator.raise_background_errors()
        finally:
            self.server.close()
