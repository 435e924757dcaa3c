"""The in-process `actors` facade: agavepy's `ag.actors.*`, without HTTP.

Each method takes the keyword arguments agavepy takes, encodes its body as agavepy
would (a str body is sent as-is as JSON text, other values are JSON-encoded, bytes
given to `sendBinaryMessage` are sent as application/octet-stream), calls the
service, and returns what agavepy returns for the same answer: the envelope's
`result` with top-level dicts as `AttrDict`, `None` for the operations whose result
agavepy reads as a string, and a `requests.Response` for `getOneExecutionResult`.
Errors raise the `requests.HTTPError` agavepy raises, whose `.response.json()` is the
Abaco error envelope.
"""
from __future__ import annotations

import functools
import json
from typing import Any, Callable

import requests

from .attrdict import AttrDict
from .contract import JSON, BINARY, message_from_request
from .errors import AbacoError, BadRequest
from .service import ActorsService, Caller
from .shapes import envelope

_REASONS = {400: "BAD REQUEST", 401: "UNAUTHORIZED", 404: "NOT FOUND", 405: "METHOD NOT ALLOWED",
            413: "REQUEST ENTITY TOO LARGE"}


def http_error(error: AbacoError, method: str, url: str) -> requests.HTTPError:
    """The exception agavepy raises for an Abaco error answer."""
    response = requests.Response()
    response.status_code = error.status_code
    response.reason = _REASONS.get(error.status_code, "ERROR")
    response.url = url
    response.headers["Content-Type"] = "application/json"
    response._content = json.dumps(envelope(None, error.message, status="error")).encode("utf-8")
    response.encoding = "utf-8"
    response.request = requests.Request(method, url).prepare()
    kind = "Client" if error.status_code < 500 else "Server"
    return requests.HTTPError(f"{error.status_code} {kind} Error: {response.reason} for url: {url}",
                              response=response)


def _model(value: Any) -> Any:
    """agavepy turns a model result into an AttrDict (top level only)."""
    return AttrDict(value) if isinstance(value, dict) else value


def _models(values: list[Any]) -> list[Any]:
    return [_model(v) for v in values]


def _operation(method: str, path: str) -> Callable:
    """Declare the Abaco route of a facade method: errors become agavepy's HTTPError."""
    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def wrapper(self: "ActorsClient", *args: Any, **kwargs: Any) -> Any:
            if args:
                raise TypeError(f"actors.{function.__name__} takes keyword arguments only, as agavepy does")
            try:
                return function(self, **kwargs)
            except AbacoError as error:
                url = f"{self._service.options.api_server}/actors/v2/{path.format(**kwargs)}".rstrip("/")
                raise http_error(error, method, url) from None
        wrapper.route = (method, path)
        return wrapper
    return decorate


def _json_body(value: Any, what: str) -> Any:
    """A request body as the server receives it from agavepy (a str is already JSON text)."""
    if isinstance(value, (str, bytes)):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            raise BadRequest(f"Invalid {what}: the request body is not valid JSON.") from None
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError, RecursionError) as exc:
        raise BadRequest(f"Invalid {what}: the request body is not JSON-serializable ({exc}).") from None


def _query_int(name: str, value: Any) -> int | None:
    """A paging argument as the server reads its query parameter: an integer, or a 400."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise BadRequest(f"Invalid query parameter {name}: {value!r} is not an integer.")


class ActorsClient:
    """`ag.actors`: every method of agavepy's actors interface, in process."""

    def __init__(self, service: ActorsService, caller: Caller) -> None:
        self._service = service
        self._caller = caller

    def _as(self, nonce: str | None) -> Caller:
        if nonce is None:
            return self._caller
        return Caller(username="", tenant=self._caller.tenant, nonce=nonce)

    # -- actors ----------------------------------------------------------------------
    @_operation("GET", "")
    def list(self, limit: int | None = 100, q: Any = None, skip: int | None = 0, offset: int | None = None,
             nonce: str | None = None) -> list[AttrDict]:
        skip = _query_int("offset", offset) if offset is not None else _query_int("skip", skip)
        return _models(self._service.list_actors(self._as(nonce), _query_int("limit", limit), skip, q))

    @_operation("POST", "")
    def add(self, body: Any = None, nonce: str | None = None) -> AttrDict:
        return _model(self._service.add_actor(self._as(nonce), _json_body(body, "actor description")))

    @_operation("GET", "{actorId}")
    def get(self, actorId: str, nonce: str | None = None) -> AttrDict:
        return _model(self._service.get_actor(self._as(nonce), actorId))

    @_operation("PUT", "{actorId}")
    def update(self, actorId: str, body: Any = None, nonce: str | None = None) -> AttrDict:
        return _model(self._service.update_actor(self._as(nonce), actorId, _json_body(body, "actor description")))

    @_operation("DELETE", "{actorId}")
    def delete(self, actorId: str, nonce: str | None = None) -> None:
        return self._service.delete_actor(self._as(nonce), actorId)

    # -- messages --------------------------------------------------------------------
    @_operation("GET", "{actorId}/messages")
    def getMessages(self, actorId: str, nonce: str | None = None) -> AttrDict:
        return _model(self._service.get_messages(self._as(nonce), actorId))

    @_operation("DELETE", "{actorId}/messages")
    def deleteMessages(self, actorId: str, nonce: str | None = None) -> AttrDict:
        return _model(self._service.delete_messages(self._as(nonce), actorId))

    @_operation("POST", "{actorId}/messages")
    def sendMessage(self, actorId: str, body: Any = None, environment: dict[str, Any] | None = None,
                    nonce: str | None = None) -> AttrDict:
        return self._send(actorId, body, environment, nonce)

    @_operation("POST", "{actorId}/messages")
    def sendBinaryMessage(self, actorId: str, message: Any = None, environment: dict[str, Any] | None = None,
                          nonce: str | None = None) -> AttrDict:
        return self._send(actorId, message, environment, nonce)

    def _send(self, actor_id: str, body: Any, environment: dict[str, Any] | None, nonce: str | None) -> AttrDict:
        if isinstance(body, (bytes, bytearray, memoryview)):
            message = message_from_request(BINARY, bytes(body))
        elif isinstance(body, str):  # a lone surrogate makes bytes that are not UTF-8: a 400 below
            message = message_from_request(JSON, body.encode("utf-8", "surrogatepass"))
        elif body is None:
            message = message_from_request(JSON, b"")
        else:
            message = message_from_request(JSON, json.dumps(_json_body(body, "message")).encode("utf-8"))
        if environment is not None and not isinstance(environment, dict):
            raise TypeError("Parameter environment must be of type dict.")
        return _model(self._service.send_message(self._as(nonce), actor_id, message, environment))

    # -- state -----------------------------------------------------------------------
    @_operation("GET", "{actorId}/state")
    def getState(self, actorId: str, nonce: str | None = None) -> AttrDict:
        return _model(self._service.get_state(self._as(nonce), actorId))

    @_operation("POST", "{actorId}/state")
    def updateState(self, actorId: str, body: Any = None, nonce: str | None = None) -> AttrDict:
        return _model(self._service.update_state(self._as(nonce), actorId, _json_body(body, "state")))

    # -- permissions -----------------------------------------------------------------
    @_operation("GET", "{actorId}/permissions")
    def getPermissions(self, actorId: str, nonce: str | None = None) -> AttrDict:
        return _model(self._service.get_permissions(self._as(nonce), actorId))

    @_operation("POST", "{actorId}/permissions")
    def updatePermissions(self, actorId: str, body: Any = None, nonce: str | None = None) -> AttrDict:
        return _model(self._service.update_permissions(self._as(nonce), actorId,
                                                       _json_body(body, "permission request")))

    # -- workers ---------------------------------------------------------------------
    @_operation("GET", "{actorId}/workers")
    def listWorkers(self, actorId: str, nonce: str | None = None) -> list[AttrDict]:
        return _models(self._service.list_workers(self._as(nonce), actorId))

    @_operation("POST", "{actorId}/workers")
    def addWorker(self, actorId: str, body: Any = None, limit: int | None = 100, q: Any = None,
                  skip: int | None = 0, nonce: str | None = None) -> Any:
        self._service.add_workers(self._as(nonce), actorId, _json_body(body if body is not None else {},
                                                                      "workers request"))
        # agavepy reads this answer with a model it cannot apply and hands back the envelope.
        return envelope(None, "Workers scheduled successfully.")

    @_operation("GET", "{actorId}/workers/{workerId}")
    def getWorker(self, actorId: str, workerId: str, nonce: str | None = None) -> AttrDict:
        return _model(self._service.get_worker(self._as(nonce), actorId, workerId))

    @_operation("DELETE", "{actorId}/workers/{workerId}")
    def deleteWorker(self, actorId: str, workerId: str, nonce: str | None = None) -> None:
        return self._service.delete_worker(self._as(nonce), actorId, workerId)

    # -- nonces ----------------------------------------------------------------------
    @_operation("GET", "{actorId}/nonces")
    def listNonces(self, actorId: str, nonce: str | None = None) -> list[AttrDict]:
        return _models(self._service.list_nonces(self._as(nonce), actorId))

    @_operation("POST", "{actorId}/nonces")
    def addNonce(self, actorId: str, body: Any = None, nonce: str | None = None) -> AttrDict:
        return _model(self._service.add_nonce(self._as(nonce), actorId,
                                              _json_body(body if body is not None else {}, "nonce request")))

    @_operation("GET", "{actorId}/nonces/{nonceId}")
    def getNonce(self, actorId: str, nonceId: str, nonce: str | None = None) -> AttrDict:
        return _model(self._service.get_nonce(self._as(nonce), actorId, nonceId))

    @_operation("DELETE", "{actorId}/nonces/{nonceId}")
    def deleteNonce(self, actorId: str, nonceId: str, nonce: str | None = None) -> None:
        return self._service.delete_nonce(self._as(nonce), actorId, nonceId)

    # -- aliases ---------------------------------------------------------------------
    @_operation("GET", "aliases")
    def listAliases(self, nonce: str | None = None) -> list[AttrDict]:
        return _models(self._service.list_aliases(self._as(nonce)))

    @_operation("POST", "aliases")
    def addAlias(self, body: Any = None, nonce: str | None = None) -> AttrDict:
        return _model(self._service.add_alias(self._as(nonce), _json_body(body, "alias request")))

    @_operation("GET", "aliases/{alias}")
    def getAlias(self, alias: str, nonce: str | None = None) -> AttrDict:
        return _model(self._service.get_alias(self._as(nonce), alias))

    @_operation("DELETE", "aliases/{alias}")
    def deleteAlias(self, alias: str, nonce: str | None = None) -> None:
        return self._service.delete_alias(self._as(nonce), alias)

    # -- search ----------------------------------------------------------------------
    @_operation("GET", "search/{search_type}")
    def getSearch(self, search_type: str, limit: int | None = 100, q: Any = None, skip: int | None = 0,
                  nonce: str | None = None) -> AttrDict:
        return _model(self._service.search(self._as(nonce), search_type, q=q, limit=_query_int("limit", limit),
                                           skip=_query_int("skip", skip)))

    # -- executions ------------------------------------------------------------------
    @_operation("GET", "{actorId}/executions")
    def listExecutions(self, actorId: str, limit: int | None = 100, q: Any = None, skip: int | None = 0,
                       offset: int | None = None, nonce: str | None = None) -> AttrDict:
        skip = _query_int("offset", offset) if offset is not None else _query_int("skip", skip)
        return _model(self._service.list_executions(self._as(nonce), actorId, _query_int("limit", limit), skip, q))

    @_operation("GET", "{actorId}/executions/{executionId}")
    def getExecution(self, actorId: str, executionId: str, nonce: str | None = None) -> AttrDict:
        return _model(self._service.get_execution(self._as(nonce), actorId, executionId))

    @_operation("GET", "{actorId}/executions/{executionId}/results")
    def getOneExecutionResult(self, actorId: str, executionId: str, nonce: str | None = None) -> requests.Response:
        data = self._service.pop_result(self._as(nonce), actorId, executionId)
        response = requests.Response()
        response.status_code = 200
        response.reason = "OK"
        response.url = f"{self._service.options.api_server}/actors/v2/{actorId}/executions/{executionId}/results"
        response.headers["Content-Type"] = "application/octet-stream"
        response._content = data
        return response

    @_operation("GET", "{actorId}/executions/{executionId}/logs")
    def getExecutionLogs(self, actorId: str, executionId: str, limit: int | None = 100, q: Any = None,
                         skip: int | None = 0, nonce: str | None = None) -> AttrDict:
        return _model(self._service.get_logs(self._as(nonce), actorId, executionId))


METHODS = tuple(name for name, value in vars(ActorsClient).items() if hasattr(value, "route"))
