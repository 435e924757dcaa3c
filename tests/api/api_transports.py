"""The transports the API behaviour tests run through, each behind the same small interface.

A test of `tests/api/` takes the fixture `ag` and uses `ag.actors.*`, `ag.configs.*`, `ag.register_image`,
`ag.wait_for_execution`, `ag.drain`, `ag.as_user(name, roles=...)`, `ag.user` and, to
look inside, `ag.store`, `ag.engine` and `ag.service`. `Transport` names that interface.

- `in-process`: an `AbacoEmulator(runner="local")` is the transport itself.
- `agavepy`: `AgavepyTransport`, an `abaco_emulator.serve(runner="local", tokens=...)`
  server reached with the real agavepy client (`abaco_emulator.agave_client`); each
  user of `as_user` gets a bearer token registered on the server and a client of its own.
  Its `configs` (agavepy has none) is the emulator's HTTP client, `remote.RemoteConfigs`.

- `tapis-v3`: `TapisV3Transport`, the same served emulator reached through its Tapis v3
  routes (`/v3/actors`, `X-Tapis-Token` from `tapis_token`) by `TapisV3Actors`, an HTTP
  client with agavepy's method names, on a server whose v3 `web_case` is camel (the
  real service's switch), so the tests' camelCase shapes hold. Its answers differ from
  v2 only in the envelope (`metadata`), the `_links` and `runAsExecutor`.

A new transport is one more class here and one more name in `TRANSPORTS`; the tests
do not change.

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
import json
from datetime import datetime
from typing import Any, Iterable, Protocol
from urllib.parse import quote

import requests

from abaco_emulator import AbacoEmulator, AttrDict, agave_client, serve, tapis_token
from abaco_emulator.attrdict import as_model
from abaco_emulator.client import METHODS
from abaco_emulator.operations import BY_NAME
from abaco_emulator.engine import Engine
from abaco_emulator.server import EmulatorServer
from abaco_emulator.auth import Caller
from abaco_emulator.remote import RemoteConfigs
from abaco_emulator.service import ActorsService
from abaco_emulator.store import Store

IN_PROCESS = "in-process"
AGAVEPY = "agavepy"
TAPIS_V3 = "tapis-v3"
TRANSPORTS = (IN_PROCESS, AGAVEPY, TAPIS_V3)


def api_path(ag: Any) -> str:
    """Where a transport's `_links` and request URLs point: `/actors/v2`, or `/v3/actors`."""
    return getattr(ag, "api_path", "/actors/v2")


class Transport(Protocol):
    """What the API tests use of `ag`, whichever way it reaches the emulator."""

    actors: Any
    configs: Any
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

    def configs(self, url: str, token: str) -> RemoteConfigs:
        """`ag.configs` over HTTP (agavepy 0.9.5 has no configs interface): the emulator's
        own HTTP client, with the same method names as the in-process `ConfigsClient`."""
        key = ("configs " + url, token)
        if key not in self._clients:
            self._clients[key] = RemoteConfigs(url, token)
        return self._clients[key]


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
        self.configs = clients.configs(server.url, token)

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


# agavepy's names of the path parameters of the operation table
_PATH_NAMES = {"actorId": "actor_id", "executionId": "execution_id", "workerId": "worker_id", "nonceId": "nonce_id",
               "alias": "alias", "search_type": "search_type", "configName": "config_name"}
_QUERY_NAMES = ("limit", "skip", "offset", "q")


class TapisV3Actors:
    """agavepy's `actors.*` over the Tapis v3 routes: each method is the operation of its
    name, its body sent as agavepy sends one (a str as JSON text, bytes of
    `sendBinaryMessage` as application/octet-stream, anything else JSON-encoded), its
    answer the envelope's `result` as agavepy returns it; errors raise `requests.HTTPError`."""

    def __init__(self, url: str, token: str) -> None:
        self._api = url + "/v3/actors"
        self._session = requests.Session()
        self._token = token

    def __getattr__(self, name: str) -> Any:
        if name not in METHODS:
            raise AttributeError(name)
        return lambda **kwargs: self._call(name, **kwargs)

    def _call(self, name: str, **kwargs: Any) -> Any:
        op = BY_NAME[name]
        path = {_PATH_NAMES[key]: quote(str(kwargs.pop(key)), safe="") for key in list(kwargs) if key in _PATH_NAMES}
        params = {key: kwargs.pop(key) for key in _QUERY_NAMES if kwargs.get(key) is not None}
        nonce = kwargs.pop("nonce", None)
        headers = {"X-Tapis-Token": self._token}
        if nonce is not None:  # Tapis reads a nonce only from a request without a token
            params["x-nonce"] = nonce
            headers.pop("X-Tapis-Token")
        environment = kwargs.pop("environment", None)
        if environment is not None:
            if not isinstance(environment, dict):
                raise TypeError("Parameter environment must be of type dict.")
            params.update(environment)
        body = kwargs.pop("message" if name == "sendBinaryMessage" else "body", None)
        data: Any = None
        content_type = None
        if name == "sendBinaryMessage" or isinstance(body, (bytes, bytearray)):
            data, content_type = bytes(body or b""), "application/octet-stream"
        elif isinstance(body, str):
            data, content_type = body.encode("utf-8", "surrogatepass"), "application/json"
        elif body is not None or op.body is not None:
            content_type = "application/json"
            try:
                data = json.dumps(body).encode("utf-8") if body is not None else b""
            except TypeError:  # as agavepy: requests form-encodes what json cannot, under the JSON type
                data = body
        kwargs.pop("body", None)
        if kwargs:
            raise TypeError(f"actors.{name} got unexpected arguments {sorted(kwargs)}")
        if content_type:
            headers["Content-Type"] = content_type
        response = self._session.request(op.method, self._api + op.path.format(**path), params=params, data=data,
                                         headers=headers)
        response.raise_for_status()
        if op.result == "raw":
            return response
        result = response.json()["result"]
        if name == "addWorker":  # agavepy hands back the envelope of this answer
            return {key: value for key, value in response.json().items() if key != "metadata"}
        return as_model(result)


class TapisV3Configs(TapisV3Actors):
    """`ag.configs.*` (the in-process `ConfigsClient`'s names) over the Tapis v3 routes."""

    _OPERATIONS = {"list": "listConfigs", "add": "addConfig", "get": "getConfig", "update": "updateConfig",
                   "delete": "deleteConfig", "getPermissions": "getConfigPermissions",
                   "updatePermissions": "updateConfigPermissions"}

    def __getattr__(self, name: str) -> Any:
        if name not in self._OPERATIONS:
            raise AttributeError(name)
        return lambda **kwargs: self._call(self._OPERATIONS[name], **kwargs)


class TapisV3Transport(AgavepyTransport):
    """A served emulator acting as one user, through its Tapis v3 routes."""

    api_path = "/v3/actors"

    def __init__(self, server: EmulatorServer, clients: AgavepyClients, name: str, roles: Iterable[str] = ()) -> None:
        self.server = server
        self._clients = clients
        self.user = name
        self.roles = frozenset(roles)
        token = tapis_token(name, server.emulator.tapis_tenant, self.roles)
        self.actors = TapisV3Actors(server.url, token)
        self.configs = TapisV3Configs(server.url, token)
        # The emulator's own routes (the clock) take the v2 credentials: a bearer token.
        self.token = token_for(name, self.roles)
        emulator = server.emulator
        emulator.tokens.add(self.token, Caller(name, self.roles, emulator.service.options.tenant))

    @classmethod
    def start(cls, clients: AgavepyClients, **options: Any) -> "TapisV3Transport":
        user = "testuser"
        server = clients.serve(runner="local", user=user, tokens={token_for(user, ()): user},
                               **{"v3_case": "camel", **options})
        return cls(server, clients, user)

    def as_user(self, name: str, roles: Iterable[str] = ()) -> "TapisV3Transport":
        return TapisV3Transport(self.server, self._clients, name, roles)
