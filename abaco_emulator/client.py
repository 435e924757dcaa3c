"""The in-process `actors` facade: agavepy's `ag.actors.*`, without HTTP.

Each method takes the keyword arguments agavepy takes, encodes its body as agavepy
would (a str body is sent as-is as JSON text, other values are JSON-encoded, bytes
given to `sendBinaryMessage` are sent as application/octet-stream), performs the
operation of the same name (`operations.py`) and renders the result through the
Abaco v2 dialect, as the HTTP app does: it returns the envelope's `result` with
top-level dicts as `AttrDict`, `None` where agavepy reads a string, and a
`requests.Response` for `getOneExecutionResult`. Errors raise the `requests.HTTPError`
agavepy raises, whose `.response.json()` is the Abaco error envelope.
"""
from __future__ import annotations

import builtins
import functools
import json
from typing import Any, Callable, Mapping, TypeVar, cast

import requests

from .attrdict import AttrDict, as_model
from .auth import Caller
from .contract import BINARY, JSON, message_from_request
from .dialects import Dialect
from .errors import AbacoError, BadRequest
from .operations import BY_NAME, answer, operation, perform
from .schemas import OPTIONAL_BODIES, describe_body
from .service import ActorsService

_REASONS = {400: "BAD REQUEST", 401: "UNAUTHORIZED", 404: "NOT FOUND", 405: "METHOD NOT ALLOWED",
            413: "REQUEST ENTITY TOO LARGE"}
F = TypeVar("F", bound=Callable[..., Any])
# agavepy's names of the path parameters of operations.py.
_AGAVEPY_NAMES = {"actor_id": "actorId", "execution_id": "executionId", "worker_id": "workerId",
                  "nonce_id": "nonceId", "alias": "alias", "search_type": "search_type",
                  "config_name": "configName"}
_NO_BODY = object()


def http_error(error: AbacoError, method: str, url: str, dialect: Dialect) -> requests.HTTPError:
    """The exception agavepy raises for an Abaco error answer."""
    response = requests.Response()
    response.status_code = error.status_code
    response.reason = _REASONS.get(error.status_code, "ERROR")
    response.url = url
    response.headers["Content-Type"] = "application/json"
    response._content = json.dumps(dialect.error(error.message)).encode("utf-8")
    response.encoding = "utf-8"
    response.request = requests.Request(method, url).prepare()
    kind = "Client" if error.status_code < 500 else "Server"
    return requests.HTTPError(f"{error.status_code} {kind} Error: {response.reason} for url: {url}",
                              response=response)


def _agavepy_method(function: F, name: str | None = None) -> F:
    """A facade method takes keyword arguments only, as agavepy's do; its Abaco errors
    become agavepy's HTTPError, for the URL agavepy would have called. It performs the
    operation of its own name, or of `name`."""
    op = operation(name or function.__name__)

    @functools.wraps(function)
    def wrapper(self: "_Facade", *args: Any, **kwargs: Any) -> Any:
        if args:
            raise TypeError(f"{self.namespace}.{function.__name__} takes keyword arguments only, as agavepy does")
        try:
            return function(self, **kwargs)
        except AbacoError as error:
            path = op.path.format(**{name: kwargs.get(_AGAVEPY_NAMES[name], "") for name in op.parameters})
            url = f"{self._service.options.api_server}/actors/v2{path}".rstrip("/")
            raise http_error(error, op.method, url, self._dialect) from None
    wrapper.operation = op  # type: ignore[attr-defined]
    return cast(F, wrapper)


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


def _sent(**given: Any) -> dict[str, Any]:
    """The query parameters agavepy sends: those given (it sends no default). On Abaco any
    of them turns a listing into a search; `offset` is a field match there, not paging."""
    out: dict[str, Any] = {}
    for name, value in given.items():
        if value is not None:
            out[name] = _query_int(name, value) if name in ("limit", "skip", "offset") else value
    return out


def _operation_method(name: str) -> Callable[[F], F]:
    """`_agavepy_method` for a method named otherwise than its operation (`configs.add` is `addConfig`)."""
    return lambda function: _agavepy_method(function, name)


class _Facade:
    """What every in-process facade shares: one caller, `perform`, the dialect's rendering."""

    namespace = ""

    def __init__(self, service: ActorsService, caller: Caller, dialect: Dialect) -> None:
        self._service = service
        self._caller = caller
        self._dialect = dialect

    def _as(self, nonce: str | None) -> Caller:
        if nonce is None:
            return self._caller
        return Caller(username="", tenant=self._caller.tenant, nonce=nonce)

    def _perform(self, name: str, nonce: str | None, path: dict[str, str] | None = None,
                 body: Any = _NO_BODY, **arguments: Any) -> Any:
        """Perform `name` and render its result as agavepy returns it."""
        return self._answer(name, nonce, path, body, **arguments)[0]

    def _answer(self, name: str, nonce: str | None, path: dict[str, str] | None = None,
                body: Any = _NO_BODY, **arguments: Any) -> tuple[Any, str]:
        """Perform `name`: its result as agavepy returns it, and the envelope's message. A
        `body` is decoded as the server decodes what agavepy sends, then read by the dialect."""
        op = BY_NAME[name]
        read = None
        if body is not _NO_BODY:
            decoded = None if body is None and op.body in OPTIONAL_BODIES else \
                _json_body(body, describe_body(op.body or "state"))
            read = functools.partial(self._dialect.read_body, op, decoded)
        result, message, kind = answer(op, perform(self._service, op, self._as(nonce), path, read, **arguments))
        return as_model(self._dialect.renderers[kind](result, self._service.options.api_server)), message


class ActorsClient(_Facade):
    """`ag.actors`: every method of agavepy's actors interface, in process."""

    namespace = "actors"

    # -- actors ----------------------------------------------------------------------
    @_agavepy_method
    def list(self, limit: int | None = None, q: Any = None, skip: int | None = None, offset: int | None = None,
             nonce: str | None = None) -> Any:
        return self._perform("list", nonce, params=_sent(limit=limit, skip=skip, offset=offset), q=q)

    @_agavepy_method
    def add(self, body: Any = None, nonce: str | None = None) -> AttrDict:
        return self._perform("add", nonce, body=body)

    @_agavepy_method
    def get(self, actorId: str, nonce: str | None = None) -> AttrDict:
        return self._perform("get", nonce, {"actor_id": actorId})

    @_agavepy_method
    def update(self, actorId: str, body: Any = None, nonce: str | None = None) -> AttrDict:
        return self._perform("update", nonce, {"actor_id": actorId}, body=body)

    @_agavepy_method
    def delete(self, actorId: str, nonce: str | None = None) -> None:
        return self._perform("delete", nonce, {"actor_id": actorId})

    # -- messages --------------------------------------------------------------------
    @_agavepy_method
    def getMessages(self, actorId: str, nonce: str | None = None) -> AttrDict:
        return self._perform("getMessages", nonce, {"actor_id": actorId})

    @_agavepy_method
    def deleteMessages(self, actorId: str, nonce: str | None = None) -> AttrDict:
        return self._perform("deleteMessages", nonce, {"actor_id": actorId})

    @_agavepy_method
    def sendMessage(self, actorId: str, body: Any = None, environment: dict[str, Any] | None = None,
                    nonce: str | None = None) -> AttrDict:
        return self._send(actorId, body, environment, nonce)

    @_agavepy_method
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
        return cast(AttrDict, self._perform("sendMessage", nonce, {"actor_id": actor_id}, message=message,
                                            environment=environment))

    # -- state -----------------------------------------------------------------------
    @_agavepy_method
    def getState(self, actorId: str, nonce: str | None = None) -> AttrDict:
        return self._perform("getState", nonce, {"actor_id": actorId})

    @_agavepy_method
    def updateState(self, actorId: str, body: Any = None, nonce: str | None = None) -> AttrDict:
        return self._perform("updateState", nonce, {"actor_id": actorId}, body=body)

    # -- permissions -----------------------------------------------------------------
    @_agavepy_method
    def getPermissions(self, actorId: str, nonce: str | None = None) -> AttrDict:
        return self._perform("getPermissions", nonce, {"actor_id": actorId})

    @_agavepy_method
    def updatePermissions(self, actorId: str, body: Any = None, nonce: str | None = None) -> AttrDict:
        return self._perform("updatePermissions", nonce, {"actor_id": actorId},
                             body=body)

    # -- workers ---------------------------------------------------------------------
    @_agavepy_method
    def listWorkers(self, actorId: str, nonce: str | None = None) -> builtins.list[AttrDict]:
        return self._perform("listWorkers", nonce, {"actor_id": actorId})

    @_agavepy_method
    def addWorker(self, actorId: str, body: Any = None, limit: int | None = None, q: Any = None,
                  skip: int | None = None, nonce: str | None = None) -> Any:
        _, message = self._answer("addWorker", nonce, {"actor_id": actorId}, body=body)
        # agavepy reads this answer with a model it cannot apply and hands back the envelope.
        return self._dialect.envelope(None, message)

    @_agavepy_method
    def getWorker(self, actorId: str, workerId: str, nonce: str | None = None) -> AttrDict:
        return self._perform("getWorker", nonce, {"actor_id": actorId, "worker_id": workerId})

    @_agavepy_method
    def deleteWorker(self, actorId: str, workerId: str, nonce: str | None = None) -> None:
        return self._perform("deleteWorker", nonce, {"actor_id": actorId, "worker_id": workerId})

    # -- nonces ----------------------------------------------------------------------
    @_agavepy_method
    def listNonces(self, actorId: str, nonce: str | None = None) -> builtins.list[AttrDict]:
        return self._perform("listNonces", nonce, {"actor_id": actorId})

    @_agavepy_method
    def addNonce(self, actorId: str, body: Any = None, nonce: str | None = None) -> AttrDict:
        return self._perform("addNonce", nonce, {"actor_id": actorId}, body=body)

    @_agavepy_method
    def getNonce(self, actorId: str, nonceId: str, nonce: str | None = None) -> AttrDict:
        return self._perform("getNonce", nonce, {"actor_id": actorId, "nonce_id": nonceId})

    @_agavepy_method
    def deleteNonce(self, actorId: str, nonceId: str, nonce: str | None = None) -> None:
        return self._perform("deleteNonce", nonce, {"actor_id": actorId, "nonce_id": nonceId})

    # -- aliases ---------------------------------------------------------------------
    @_agavepy_method
    def listAliases(self, nonce: str | None = None) -> builtins.list[AttrDict]:
        return self._perform("listAliases", nonce)

    @_agavepy_method
    def addAlias(self, body: Any = None, nonce: str | None = None) -> AttrDict:
        return self._perform("addAlias", nonce, body=body)

    @_agavepy_method
    def getAlias(self, alias: str, nonce: str | None = None) -> AttrDict:
        return self._perform("getAlias", nonce, {"alias": alias})

    @_agavepy_method
    def deleteAlias(self, alias: str, nonce: str | None = None) -> None:
        return self._perform("deleteAlias", nonce, {"alias": alias})

    # -- search ----------------------------------------------------------------------
    @_agavepy_method
    def getSearch(self, search_type: str, limit: int | None = None, q: Any = None, skip: int | None = None,
                  nonce: str | None = None) -> AttrDict:
        return self._perform("getSearch", nonce, {"search_type": search_type}, params=_sent(limit=limit, skip=skip),
                             q=q)

    # -- executions ------------------------------------------------------------------
    @_agavepy_method
    def listExecutions(self, actorId: str, limit: int | None = None, q: Any = None, skip: int | None = None,
                       offset: int | None = None, nonce: str | None = None) -> AttrDict:
        return self._perform("listExecutions", nonce, {"actor_id": actorId},
                             params=_sent(limit=limit, skip=skip, offset=offset), q=q)

    @_agavepy_method
    def getExecution(self, actorId: str, executionId: str, nonce: str | None = None) -> AttrDict:
        return self._perform("getExecution", nonce, {"actor_id": actorId, "execution_id": executionId})

    @_agavepy_method
    def getOneExecutionResult(self, actorId: str, executionId: str, nonce: str | None = None) -> requests.Response:
        data = self._perform("getOneExecutionResult", nonce, {"actor_id": actorId, "execution_id": executionId})
        response = requests.Response()
        response.status_code = 200
        response.reason = "OK"
        response.url = f"{self._service.options.api_server}/actors/v2/{actorId}/executions/{executionId}/results"
        response.headers["Content-Type"] = "application/octet-stream"
        response._content = data
        return response

    @_agavepy_method
    def getExecutionLogs(self, actorId: str, executionId: str, limit: int | None = None, q: Any = None,
                         skip: int | None = None, nonce: str | None = None) -> AttrDict:
        return self._perform("getExecutionLogs", nonce, {"actor_id": actorId, "execution_id": executionId},
                             params=_sent(limit=limit, skip=skip, q=q))

    @_agavepy_method
    def getLiveLogs(self, actorId: str, executionId: str, offset: int | None = None,
                    nonce: str | None = None) -> AttrDict:
        """Emulator-only (agavepy has no such call): what an execution has written so far
        (after `offset` characters), its status and whether it ended; what `logs --follow` streams."""
        return self._perform("getLiveLogs", nonce, {"actor_id": actorId, "execution_id": executionId},
                             params=_sent(offset=offset))


class ConfigsClient(_Facade):
    """`ag.configs`: Abaco's actor configs, in process. agavepy 0.9.5 has no configs
    interface; these follow its naming (`body=`, camelCase path arguments)."""

    namespace = "configs"

    @_operation_method("listConfigs")
    def list(self, nonce: str | None = None) -> builtins.list[AttrDict]:
        return self._perform("listConfigs", nonce)

    @_operation_method("addConfig")
    def add(self, body: Any = None, nonce: str | None = None) -> AttrDict:
        return self._perform("addConfig", nonce, body=body)

    @_operation_method("getConfig")
    def get(self, configName: str, nonce: str | None = None) -> AttrDict:
        return self._perform("getConfig", nonce, {"config_name": configName})

    @_operation_method("updateConfig")
    def update(self, configName: str, body: Any = None, nonce: str | None = None) -> AttrDict:
        return self._perform("updateConfig", nonce, {"config_name": configName}, body=body)

    @_operation_method("deleteConfig")
    def delete(self, configName: str, nonce: str | None = None) -> None:
        return self._perform("deleteConfig", nonce, {"config_name": configName})

    @_operation_method("getConfigPermissions")
    def getPermissions(self, configName: str, nonce: str | None = None) -> AttrDict:
        return self._perform("getConfigPermissions", nonce, {"config_name": configName})

    @_operation_method("updateConfigPermissions")
    def updatePermissions(self, configName: str, body: Any = None, nonce: str | None = None) -> AttrDict:
        return self._perform("updateConfigPermissions", nonce, {"config_name": configName}, body=body)


METHODS = tuple(name for name, value in vars(ActorsClient).items() if hasattr(value, "operation"))
CONFIG_METHODS = tuple(name for name, value in vars(ConfigsClient).items() if hasattr(value, "operation"))
