"""The Abaco v2 REST API over HTTP: a Flask app around the same `ActorsService`.

Each view only parses the request (path, query, body, credentials) into the arguments
of one service method and renders what it returns in Abaco's envelope; every rule
lives in the service. Every answer is JSON with the envelope, except the raw bytes of
`.../results` and of a synchronous message, and no input produces an HTML page: wrong
routes and methods get Abaco's 405 envelope, oversized bodies 413, undecodable
bodies 400, and only a bug of the emulator itself a 500 envelope.

Routes are registered under `/actors/v2` (the public form) and `/actors` (the form
Abaco's own test suite calls). `ROUTES` is the table both are built from; the OpenAPI
document (`openapi.py`) is checked against it by the tests.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass
from typing import Any, Callable

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from .contract import RESERVED_QUERY_PARAMETERS, message_from_request
from .errors import AbacoError, BadRequest, EmulatorError, ExecutionTimeout, Unauthorized
from .service import ActorsService, Caller
from .shapes import DEFAULT_MESSAGE, MESSAGES, envelope

log = logging.getLogger(__name__)

PREFIXES = ("/actors/v2", "/actors")
NOT_ALLOWED = "Invalid request: the API endpoint does not exist or the provided HTTP method is not allowed."
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
DEFAULT_SYNC_TIMEOUT = 300.0
JWT_HEADER_PREFIX = "x-jwt-assertion-"
ENDUSER_CLAIM = "http://wso2.org/claims/enduser"
ROLE_CLAIM = "http://wso2.org/claims/role"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True)
class Route:
    """One operation of the API: its path below the prefix, method and view."""

    path: str
    method: str
    operation: str
    view: str


# path below the prefix (werkzeug syntax), method, operation name (agavepy's where it
# has one), view function of `_Views`.
ROUTES: tuple[Route, ...] = tuple(Route(*row) for row in (
    ("", "GET", "list", "list_actors"),
    ("", "POST", "add", "add_actor"),
    ("/openapi.json", "GET", "getOpenApi", "openapi"),
    ("/aliases", "GET", "listAliases", "list_aliases"),
    ("/aliases", "POST", "addAlias", "add_alias"),
    ("/aliases/<alias>", "GET", "getAlias", "get_alias"),
    ("/aliases/<alias>", "PUT", "updateAlias", "update_alias"),
    ("/aliases/<alias>", "DELETE", "deleteAlias", "delete_alias"),
    ("/aliases/<alias>/nonces", "GET", "listAliasNonces", "list_alias_nonces"),
    ("/aliases/<alias>/nonces", "POST", "addAliasNonce", "add_alias_nonce"),
    ("/aliases/<alias>/nonces/<nonce_id>", "GET", "getAliasNonce", "get_alias_nonce"),
    ("/aliases/<alias>/nonces/<nonce_id>", "DELETE", "deleteAliasNonce", "delete_alias_nonce"),
    ("/search/<search_type>", "GET", "getSearch", "search"),
    ("/<actor_id>", "GET", "get", "get_actor"),
    ("/<actor_id>", "PUT", "update", "update_actor"),
    ("/<actor_id>", "DELETE", "delete", "delete_actor"),
    ("/<actor_id>/messages", "GET", "getMessages", "get_messages"),
    ("/<actor_id>/messages", "POST", "sendMessage", "send_message"),
    ("/<actor_id>/messages", "DELETE", "deleteMessages", "delete_messages"),
    ("/<actor_id>/state", "GET", "getState", "get_state"),
    ("/<actor_id>/state", "POST", "updateState", "update_state"),
    ("/<actor_id>/permissions", "GET", "getPermissions", "get_permissions"),
    ("/<actor_id>/permissions", "POST", "updatePermissions", "update_permissions"),
    ("/<actor_id>/workers", "GET", "listWorkers", "list_workers"),
    ("/<actor_id>/workers", "POST", "addWorker", "add_worker"),
    ("/<actor_id>/workers/<worker_id>", "GET", "getWorker", "get_worker"),
    ("/<actor_id>/workers/<worker_id>", "DELETE", "deleteWorker", "delete_worker"),
    ("/<actor_id>/nonces", "GET", "listNonces", "list_nonces"),
    ("/<actor_id>/nonces", "POST", "addNonce", "add_nonce"),
    ("/<actor_id>/nonces/<nonce_id>", "GET", "getNonce", "get_nonce"),
    ("/<actor_id>/nonces/<nonce_id>", "DELETE", "deleteNonce", "delete_nonce"),
    ("/<actor_id>/executions", "GET", "listExecutions", "list_executions"),
    ("/<actor_id>/executions/<execution_id>", "GET", "getExecution", "get_execution"),
    ("/<actor_id>/executions/<execution_id>", "DELETE", "deleteExecution", "delete_execution"),
    ("/<actor_id>/executions/<execution_id>/logs", "GET", "getExecutionLogs", "get_logs"),
    ("/<actor_id>/executions/<execution_id>/results", "GET", "getOneExecutionResult", "get_result"),
))

# Static first segments of routes: never taken as an actor id or alias.
_ROUTE_WORDS = {"aliases", "search", "openapi.json"}

# Views that answer without credentials.
_PUBLIC_VIEWS = {"openapi"}


# -- rendering -----------------------------------------------------------------------

def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    text = json.dumps(body, default=str)
    return Response(text, status=status, mimetype="application/json", headers=headers)


def success(result: Any, operation: str | None = None) -> Response:
    return json_response(envelope(result, MESSAGES.get(operation or "", DEFAULT_MESSAGE)))


def error_response(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return json_response(envelope(None, message, status="error"), status, headers)


# -- parsing -------------------------------------------------------------------------

def query_int(name: str, default: int | None = None) -> int | None:
    """An integer query parameter (`limit`, `offset`, `skip`); 400 names a bad value."""
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw.strip())
    except ValueError:
        raise BadRequest(f"Invalid query parameter {name}: {raw!r} is not an integer.") from None


def query_skip() -> int:
    """`skip`, or its synonym `offset` (agavepy 0.9.5 sends `offset`)."""
    skip = query_int("skip")
    offset = query_int("offset")
    return skip if skip is not None else (offset if offset is not None else 0)


def json_body(what: str, empty: Any = None) -> Any:
    """The request body as JSON, or a form body as a dict of its fields (as Abaco reads both).

    An empty body is `empty`. Any Content-Type other than a form is read as JSON.
    """
    data = request.get_data(cache=True)
    media = (request.mimetype or "").lower()
    if media in _FORM_TYPES:
        return request.form.to_dict()
    if not data.strip():
        return empty
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"Invalid {what}: the request body is not valid UTF-8 "
                         f"(byte {exc.start}: {exc.reason}).") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"Invalid {what}: the request body is not valid JSON ({exc}).") from None


def decode_jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, read without verifying its signature (as the issue asks)."""
    parts = token.strip().split(".")
    if len(parts) < 2:
        raise ValueError("it is not a JWT (expected header.payload.signature)")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")).decode("utf-8"))
    except (binascii.Error, UnicodeError, ValueError):
        raise ValueError("its payload is not base64url-encoded JSON") from None
    if not isinstance(claims, dict):
        raise ValueError("its payload is not a JSON object")
    return claims


def caller_from_jwt(header_name: str, token: str, tenant: str) -> Caller:
    """The user and roles of Abaco's gateway JWT (`X-Jwt-Assertion-<TENANT>`)."""
    try:
        claims = decode_jwt_claims(token)
    except ValueError as exc:
        raise Unauthorized(f"Invalid JWT in header {header_name}: {exc}.") from None
    enduser = claims.get(ENDUSER_CLAIM)
    if not isinstance(enduser, str) or not enduser.split("@")[0].strip():
        raise Unauthorized(f"Invalid JWT in header {header_name}: claim {ENDUSER_CLAIM} "
                           "(the user name) is missing.")
    roles = claims.get(ROLE_CLAIM) or ""
    if isinstance(roles, list):
        roles = ",".join(str(r) for r in roles)
    if not isinstance(roles, str):
        raise Unauthorized(f"Invalid JWT in header {header_name}: claim {ROLE_CLAIM} must be a "
                           "comma separated string.")
    return Caller(enduser.split("@")[0].strip(),
                  frozenset(r.strip() for r in roles.split(",") if r.strip()), tenant)


def caller_of_request(service: ActorsService, default: Caller) -> Caller:
    """Who makes the current request (see the module docstring of `server`).

    A nonce (`?x-nonce=`) is used instead of any other credential, as in Abaco. Then a
    bearer token, then a gateway JWT. Without credentials the request acts as
    `default` while no tokens are configured, and is refused once some are. While no
    tokens are configured (open mode) an unknown bearer token also acts as `default`,
    so that `Agave(api_server=url, token="anything")` works against an open server.
    """
    tenant = service.options.tenant
    nonce = request.args.get("x-nonce")
    if nonce is not None:
        if not nonce.strip():
            raise Unauthorized("Invalid x-nonce: the nonce id is empty.")
        return Caller(username="", tenant=tenant, nonce=nonce.strip())
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Invalid Authorization header: use 'Authorization: Bearer <token>'.")
        caller = service.caller_for_token(token.strip())
        if caller is not None:
            return caller
        if not service.has_tokens:
            return default
        raise Unauthorized("Invalid or expired access token in the Authorization header.")
    for name, value in request.headers.items():
        if name.lower().startswith(JWT_HEADER_PREFIX):
            return caller_from_jwt(name, value, tenant)
    if not service.has_tokens:
        return default
    raise Unauthorized("No credentials: send 'Authorization: Bearer <token>', an X-Jwt-Assertion-<TENANT> "
                       "header, or ?x-nonce=<nonce id>.")


def message_environment() -> dict[str, str]:
    """Query parameters of a message POST, as the execution's environment variables."""
    return {key: value for key, value in request.args.items() if key not in RESERVED_QUERY_PARAMETERS}


def is_true(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("true", "1", "yes", "on")


# -- views ---------------------------------------------------------------------------

class _Views:
    """One method per route; `caller` is who makes the request."""

    def __init__(self, service: ActorsService, sync_timeout: float, openapi: Callable[[], dict[str, Any]]):
        self.service = service
        self.sync_timeout = sync_timeout
        self._openapi = openapi

    def openapi(self, caller: Caller | None) -> Response:
        return json_response(self._openapi())

    # actors
    def list_actors(self, caller: Caller) -> Response:
        result = self.service.list_actors(caller, query_int("limit", 100), query_skip(), request.args.get("q"))
        return success(result, "list")

    def add_actor(self, caller: Caller) -> Response:
        return success(self.service.add_actor(caller, json_body("actor description")), "add")

    def get_actor(self, caller: Caller, actor_id: str) -> Response:
        return success(self.service.get_actor(caller, actor_id), "get")

    def update_actor(self, caller: Caller, actor_id: str) -> Response:
        return success(self.service.update_actor(caller, actor_id, json_body("actor description")), "update")

    def delete_actor(self, caller: Caller, actor_id: str) -> Response:
        return success(self.service.delete_actor(caller, actor_id), "delete")

    # messages
    def get_messages(self, caller: Caller, actor_id: str) -> Response:
        return success(self.service.get_messages(caller, actor_id), "getMessages")

    def delete_messages(self, caller: Caller, actor_id: str) -> Response:
        return success(self.service.delete_messages(caller, actor_id), "deleteMessages")

    def send_message(self, caller: Caller, actor_id: str) -> Response:
        body = request.get_data(cache=True)
        form_message = None
        if (request.mimetype or "").lower() in _FORM_TYPES:
            form_message = request.form.get("message")
        message = message_from_request(request.content_type, body, form_message)
        sent = self.service.send_message(caller, actor_id, message, message_environment())
        if not is_true(request.args.get("_abaco_synchronous")):
            return success(sent, "sendMessage")
        try:
            data, content_type = self.service.synchronous_answer(sent["executionId"], self.sync_timeout)
        except ExecutionTimeout:
            return error_response(f"Synchronous execution {sent['executionId']} did not finish within "
                                  f"{self.sync_timeout:g} s; it continues, poll it with GET "
                                  f"/actors/v2/{actor_id}/executions/{sent['executionId']}.", 504)
        return Response(data, status=200, content_type=content_type,
                        headers={"X-Abaco-Execution-Id": sent["executionId"]})

    # state
    def get_state(self, caller: Caller, actor_id: str) -> Response:
        return success(self.service.get_state(caller, actor_id), "getState")

    def update_state(self, caller: Caller, actor_id: str) -> Response:
        return success(self.service.update_state(caller, actor_id, json_body("state")), "updateState")

    # permissions
    def get_permissions(self, caller: Caller, actor_id: str) -> Response:
        return success(self.service.get_permissions(caller, actor_id), "getPermissions")

    def update_permissions(self, caller: Caller, actor_id: str) -> Response:
        result = self.service.update_permissions(caller, actor_id, json_body("permission request"))
        return success(result, "updatePermissions")

    # workers
    def list_workers(self, caller: Caller, actor_id: str) -> Response:
        return success(self.service.list_workers(caller, actor_id), "listWorkers")

    def add_worker(self, caller: Caller, actor_id: str) -> Response:
        return success(self.service.add_workers(caller, actor_id, json_body("workers request", {})), "addWorker")

    def get_worker(self, caller: Caller, actor_id: str, worker_id: str) -> Response:
        return success(self.service.get_worker(caller, actor_id, worker_id), "getWorker")

    def delete_worker(self, caller: Caller, actor_id: str, worker_id: str) -> Response:
        return success(self.service.delete_worker(caller, actor_id, worker_id), "deleteWorker")

    # nonces (of an actor, or of an alias under /aliases/<alias>/nonces)
    def list_nonces(self, caller: Caller, actor_id: str) -> Response:
        return success(self.service.list_nonces(caller, actor_id), "listNonces")

    def add_nonce(self, caller: Caller, actor_id: str) -> Response:
        return success(self.service.add_nonce(caller, actor_id, json_body("nonce request", {})), "addNonce")

    def get_nonce(self, caller: Caller, actor_id: str, nonce_id: str) -> Response:
        return success(self.service.get_nonce(caller, actor_id, nonce_id), "getNonce")

    def delete_nonce(self, caller: Caller, actor_id: str, nonce_id: str) -> Response:
        return success(self.service.delete_nonce(caller, actor_id, nonce_id), "deleteNonce")

    def list_alias_nonces(self, caller: Caller, alias: str) -> Response:
        return self.list_nonces(caller, alias)

    def add_alias_nonce(self, caller: Caller, alias: str) -> Response:
        return self.add_nonce(caller, alias)

    def get_alias_nonce(self, caller: Caller, alias: str, nonce_id: str) -> Response:
        return self.get_nonce(caller, alias, nonce_id)

    def delete_alias_nonce(self, caller: Caller, alias: str, nonce_id: str) -> Response:
        return self.delete_nonce(caller, alias, nonce_id)

    # aliases
    def list_aliases(self, caller: Caller) -> Response:
        return success(self.service.list_aliases(caller), "listAliases")

    def add_alias(self, caller: Caller) -> Response:
        return success(self.service.add_alias(caller, json_body("alias request")), "addAlias")

    def get_alias(self, caller: Caller, alias: str) -> Response:
        return success(self.service.get_alias(caller, alias), "getAlias")

    def update_alias(self, caller: Caller, alias: str) -> Response:
        return success(self.service.update_alias(caller, alias, json_body("alias request")), "updateAlias")

    def delete_alias(self, caller: Caller, alias: str) -> Response:
        return success(self.service.delete_alias(caller, alias), "deleteAlias")

    # search
    def search(self, caller: Caller, search_type: str) -> Response:
        result = self.service.search(caller, search_type, params=request.args.to_dict(),
                                     q=request.args.get("q"), limit=query_int("limit", 100), skip=query_skip())
        return success(result, "getSearch")

    # executions
    def list_executions(self, caller: Caller, actor_id: str) -> Response:
        result = self.service.list_executions(caller, actor_id, query_int("limit", 100), query_skip(),
                                              request.args.get("q"))
        return success(result, "listExecutions")

    def get_execution(self, caller: Caller, actor_id: str, execution_id: str) -> Response:
        return success(self.service.get_execution(caller, actor_id, execution_id), "getExecution")

    def delete_execution(self, caller: Caller, actor_id: str, execution_id: str) -> Response:
        return success(self.service.delete_execution(caller, actor_id, execution_id), "deleteExecution")

    def get_logs(self, caller: Caller, actor_id: str, execution_id: str) -> Response:
        return success(self.service.get_logs(caller, actor_id, execution_id), "getExecutionLogs")

    def get_result(self, caller: Caller, actor_id: str, execution_id: str) -> Response:
        data = self.service.pop_result(caller, actor_id, execution_id)
        return Response(data, status=200, content_type="application/octet-stream")


# -- the app -------------------------------------------------------------------------

def create_app(emulator: Any, *, max_body_bytes: int | None = DEFAULT_MAX_BODY_BYTES,
               sync_timeout: float = DEFAULT_SYNC_TIMEOUT) -> Flask:
    """The Flask app serving `emulator` (an `AbacoEmulator`) over HTTP.

    `max_body_bytes` caps request bodies (413 above it; None for no cap);
    `sync_timeout` is how long a `?_abaco_synchronous=true` message may wait.
    """
    from .openapi import openapi_document

    service: ActorsService = emulator.service
    default = Caller(emulator.user, frozenset(emulator.roles), service.options.tenant)
    app = Flask("abaco_emulator")
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    app.config["MAX_FORM_MEMORY_SIZE"] = max_body_bytes
    app.url_map.strict_slashes = False
    app.extensions["abaco_emulator"] = emulator

    def document() -> dict[str, Any]:
        return openapi_document(server_url=service.options.api_server)

    views = _Views(service, sync_timeout, document)

    def endpoint(view_name: str, bare: bool) -> Callable[..., Response]:
        view = getattr(views, view_name)

        def handle(**path: str) -> Response:
            if path.get("actor_id") in _ROUTE_WORDS or (bare and path.get("actor_id") == "v2"):
                # e.g. DELETE /actors/v2/aliases: a route with a method it lacks, not an actor
                # called "aliases" (nor, under /actors, an actor called "v2").
                return error_response(NOT_ALLOWED, 405)
            caller = None if view_name in _PUBLIC_VIEWS else caller_of_request(service, default)
            return view(caller, **path)

        handle.__name__ = view_name
        return handle

    for prefix in PREFIXES:
        label = "v2" if prefix.endswith("v2") else "bare"
        for route in ROUTES:
            app.add_url_rule(prefix + route.path, endpoint=f"{label}_{route.operation}",
                             view_func=endpoint(route.view, label == "bare"), methods=[route.method])

    @app.errorhandler(AbacoError)
    def abaco_error(error: AbacoError) -> Response:
        headers = {"WWW-Authenticate": 'Bearer realm="abaco-emulator"'} if error.status_code == 401 else None
        return error_response(error.message, error.status_code, headers)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        code = error.code or 500
        if code in (404, 405):
            return error_response(NOT_ALLOWED, 405)
        if code == 413:
            limit = f" of {max_body_bytes} bytes" if max_body_bytes else ""
            return error_response(f"Request body too large: it exceeds this server's limit{limit}.", 413)
        if code == 400:
            return error_response(f"Invalid request: {error.description}", 400)
        return error_response(f"{error.name}: {error.description}", code)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        if isinstance(error, HTTPException):  # pragma: no cover - handled above
            return http_error(error)
        if isinstance(error, EmulatorError):
            log.warning("emulator error on %s %s: %s", request.method, request.path, error)
        else:
            log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(f"Internal error of abaco-emulator ({type(error).__name__}: {error}); "
                              "this is a bug, please report it.", 500)

    @app.after_request
    def no_html_redirect(response: Response) -> Response:
        """werkzeug's redirect of a path with "//" carries an HTML page: send the envelope instead."""
        if 300 <= response.status_code < 400 and response.mimetype == "text/html":
            response.set_data(json.dumps(envelope(None, f"Moved to {response.location}.", status="error")))
            response.mimetype = "application/json"
        return response

    return app
