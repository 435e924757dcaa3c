"""`RemoteActors`: agavepy's `ag.actors.*` method names over HTTP, for the CLI's `--url`.

The CLI writes its commands once against an object with agavepy's method names; for
an in-process emulator that is `AbacoEmulator(...).actors`, for a running server it is
this class. It only carries requests to the REST routes and reads the envelope back
(every rule stays in the server): results come back as agavepy returns them
(`AttrDict`s of the envelope's `result`), errors raise the `requests.HTTPError` that
agavepy and the in-process facade raise, whose `.response.json()` is Abaco's error
envelope. A refused connection raises `requests.ConnectionError` unchanged.
"""
from __future__ import annotations

import json
from typing import Any, Mapping
from urllib.parse import quote

import requests

from .attrdict import AttrDict, as_model
from .dialects.abaco_v2 import AbacoV2
from .operations import EMULATOR_PREFIX, operation

_API_PATH = AbacoV2.prefixes[0]


def _json_text(body: Any) -> bytes:
    """A request body as agavepy sends it: a str is already JSON text, anything else is encoded."""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


def _segment(value: str) -> str:
    """One path segment: an id or alias can never reach another route."""
    return quote(str(value), safe="")


class _Remote:
    """Requests to an Abaco (or emulator) server at `url` with one session.

    `url` is the server's base (`http://127.0.0.1:5000`) or its API base
    (`.../actors/v2`); `token` goes into `Authorization: Bearer`.
    """

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 60.0,
                 session: requests.Session | None = None) -> None:
        base = url.rstrip("/")
        if base.endswith(_API_PATH):
            base = base[: -len(_API_PATH)]
        self.url = base
        self.api_url = base + _API_PATH
        self.timeout = timeout
        self._session = session or requests.Session()
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self._session.close()

    # -- transport -------------------------------------------------------------------
    def _request(self, name: str, path: Mapping[str, str] | None = None, *, params: dict[str, Any] | None = None,
                 data: bytes | None = None, content_type: str | None = None) -> requests.Response:
        """Call operation `name` (`operations.py`) with the path parameters `path`."""
        op = operation(name)
        base = self.url + EMULATOR_PREFIX if op.emulator_only else self.api_url
        url = base + op.path.format(**{key: _segment(value) for key, value in (path or {}).items()})
        headers = {"Content-Type": content_type} if content_type else {}
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        response = self._session.request(op.method, url, params=clean or None, data=data,
                                         headers=headers, timeout=self.timeout)
        response.raise_for_status()  # the HTTPError agavepy raises, carrying the error envelope
        return response

    def _call(self, name: str, path: Mapping[str, str] | None = None, **kwargs: Any) -> Any:
        response = self._request(name, path, **kwargs)
        try:
            payload = response.json()
            return as_model(payload["result"])
        except (ValueError, KeyError, TypeError):
            op = operation(name)
            raise requests.HTTPError(
                f"the server at {self.url} answered {op.method} {op.path or '/'} with something that is not "
                f"an Abaco envelope (is it an Abaco server?)", response=response) from None


class RemoteActors(_Remote):
    """The actors methods the CLI uses, against an Abaco (or emulator) server."""

    # -- actors ----------------------------------------------------------------------
    def list(self) -> list[AttrDict]:
        return self._call("list")  # with any query parameter Abaco answers a search instead

    def add(self, body: Any = None) -> AttrDict:
        return self._call("add", data=_json_text(body), content_type="application/json")

    def get(self, actorId: str) -> AttrDict:
        return self._call("get", {"actor_id": actorId})

    def update(self, actorId: str, body: Any = None) -> AttrDict:
        return self._call("update", {"actor_id": actorId}, data=_json_text(body), content_type="application/json")

    def delete(self, actorId: str) -> None:
        self._call("delete", {"actor_id": actorId})
        return None

    # -- messages --------------------------------------------------------------------
    def sendMessage(self, actorId: str, body: Any = None, environment: dict[str, Any] | None = None) -> AttrDict:
        if environment is not None and not isinstance(environment, dict):
            raise TypeError("Parameter environment must be of type dict.")
        return self._call("sendMessage", {"actor_id": actorId}, params=environment,
                          data=_json_text(body), content_type="application/json")

    def sendBinaryMessage(self, actorId: str, message: bytes = b"",
                          environment: dict[str, Any] | None = None) -> AttrDict:
        if environment is not None and not isinstance(environment, dict):
            raise TypeError("Parameter environment must be of type dict.")
        return self._call("sendBinaryMessage", {"actor_id": actorId}, params=environment,
                          data=bytes(message), content_type="application/octet-stream")

    # -- executions ------------------------------------------------------------------
    def listExecutions(self, actorId: str) -> AttrDict:
        return self._call("listExecutions", {"actor_id": actorId})

    def getExecution(self, actorId: str, executionId: str) -> AttrDict:
        return self._call("getExecution", {"actor_id": actorId, "execution_id": executionId})

    def getExecutionLogs(self, actorId: str, executionId: str) -> AttrDict:
        return self._call("getExecutionLogs", {"actor_id": actorId, "execution_id": executionId})

    def getLiveLogs(self, actorId: str, executionId: str, offset: int | None = None) -> AttrDict:
        """The emulator's own route (Abaco has none: there it answers 405)."""
        return self._call("getLiveLogs", {"actor_id": actorId, "execution_id": executionId},
                          params={"offset": offset})

    # -- the emulator's clock (emulator only) ------------------------------------------
    def getClock(self) -> AttrDict:
        return self._call("getClock")

    def advanceClock(self, seconds: float) -> AttrDict:
        return self._call("advanceClock", data=_json_text({"seconds": seconds}), content_type="application/json")


class RemoteConfigs(_Remote):
    """`ag.configs` (the in-process `ConfigsClient`'s methods) against a server."""

    def list(self) -> list[AttrDict]:
        return self._call("listConfigs")

    def add(self, body: Any = None) -> AttrDict:
        return self._call("addConfig", data=_json_text(body), content_type="application/json")

    def get(self, configName: str) -> AttrDict:
        return self._call("getConfig", {"config_name": configName})

    def update(self, configName: str, body: Any = None) -> AttrDict:
        return self._call("updateConfig", {"config_name": configName}, data=_json_text(body),
                          content_type="application/json")

    def delete(self, configName: str) -> None:
        self._call("deleteConfig", {"config_name": configName})
        return None

    def getPermissions(self, configName: str) -> AttrDict:
        return self._call("getConfigPermissions", {"config_name": configName})

    def updatePermissions(self, configName: str, body: Any = None) -> AttrDict:
        return self._call("updateConfigPermissions", {"config_name": configName}, data=_json_text(body),
                          content_type="application/json")
