"""The actors API over HTTP: a Flask app whose routes are the rows of `operations.py`.

One view serves every operation: it reads the request (path, query, body,
credentials) into the arguments of `ActorsService.perform` and renders the result
through the dialect. Every rule lives in the service and every shape in the dialect.
Every answer is JSON with the envelope, except the raw bytes of `.../results` and of a
synchronous message, and the dashboard at `/` (dashboard.py); no input produces an HTML
page: wrong routes and methods get Abaco's 405 envelope, oversized bodies 413,
undecodable bodies 400, and only a bug of the emulator itself a 500 envelope. CORS headers are flask-cors's, as on Abaco.

Routes are registered under each prefix of each dialect: Abaco v2's (`/actors/v2`, the
public form, and `/actors`, the form Abaco's own test suite calls) and Tapis v3's
(`/v3/actors`, credentials read by `auth.identify_tapis`), beside the Tapis tenants,
sites and token routes tapipy needs (`tapis_services.py`). Errors take the envelope of
the dialect of their path.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Callable

from flask import Flask, Response, request
from flask_cors import CORS
from werkzeug.exceptions import HTTPException

from . import dashboard
from .auth import Caller, identify, identify_callback, identify_tapis, with_user_roles
from .contract import RESERVED_QUERY_PARAMETERS, message_from_request
from .dialects import Dialect
from .dialects.tapis_v3 import PREFIX as V3_PREFIX
from .errors import AbacoError, BadRequest, EmulatorError, ExecutionTimeout
from .parsing import AST_LOCK
from .operations import (EMULATOR_PREFIX, MESSAGE, OPERATIONS, ROUTE_WORDS, VERSION_WORDS, Operation, answer,
                         perform, werkzeug_path)
from .forms import FormBody
from .schemas import describe_body
from .tapis_services import NOT_AN_ENDPOINT, register_tapis_services

log = logging.getLogger(__name__)

NOT_ALLOWED = "Invalid request: the API endpoint does not exist or the provided HTTP method is not allowed."
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
DEFAULT_SYNC_TIMEOUT = 300.0
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_SLASHES = re.compile(r"/{2,}")


@dataclass(frozen=True)
class Route:
    """One served route: its path below the prefix (Flask syntax), method and operation."""

    path: str
    method: str
    operation: str


# Abaco's routes, below each prefix of a dialect (the emulator's own are under EMULATOR_PREFIX).
ROUTES: tuple[Route, ...] = tuple(Route(werkzeug_path(op.path), op.method, op.name) for op in OPERATIONS
                                  if not op.emulator_only)


# -- parsing -------------------------------------------------------------------------

def json_body(what: str) -> Any:
    """The request body as JSON, or a form body as a dict of its fields (as Abaco reads both).

    An empty body is None. Any Content-Type other than a form is read as JSON; a form is
    a `FormBody` (its fields typed later, as Abaco's parser types them).
    """
    data = request.get_data(cache=True)
    media = (request.mimetype or "").lower()
    if media in _FORM_TYPES:  # reqparse's "values": the query string and the form fields
        return FormBody([*request.args.items(multi=True), *request.form.items(multi=True)])
    if not data.strip():
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"Invalid {what}: the request body is not valid UTF-8 "
                         f"(byte {exc.start}: {exc.reason}).") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"Invalid {what}: the request body is not valid JSON ({exc}).") from None


def _merge_slashes(wsgi_app: Any) -> Any:
    """Repeated slashes in a path are one, as the gateway in front of Abaco (nginx) makes
    them: tapipy posts binary messages to `/actors/{id}//messages`."""
    def merged(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if "//" in path:
            environ["PATH_INFO"] = _SLASHES.sub("/", path)
        return wsgi_app(environ, start_response)
    return merged


def is_true(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("true", "1", "yes", "on")


def _query_arguments(op: Operation) -> dict[str, Any]:
    """The service arguments an operation reads from the query string."""
    out: dict[str, Any] = {}
    if "params" in op.query:  # any query parameter but a lone x-nonce makes a listing a search
        out["params"] = {key: value for key, value in request.args.items() if key != "x-nonce"}
    if "q" in op.query:
        out["q"] = request.args.get("q")
    if op.query == MESSAGE:
        # As under Flask in Abaco, a form's raw body is not readable as data once parsed:
        # only its `message` field counts (curl -d '{"a": 1}' is a form, not JSON).
        if (request.mimetype or "").lower() in _FORM_TYPES:
            data, form_message = b"", request.form.get("message")
        else:
            data, form_message = request.get_data(cache=True), None
        out["message"] = message_from_request(request.content_type, data, form_message or request.args.get("message"))
        out["environment"] = {key: value for key, value in request.args.items() if key not in RESERVED_QUERY_PARAMETERS}
    return out


# -- the app -------------------------------------------------------------------------

def create_app(emulator: Any, *, max_body_bytes: int | None = DEFAULT_MAX_BODY_BYTES,
               sync_timeout: float = DEFAULT_SYNC_TIMEOUT, callbacks_only: bool = False) -> Flask:
    """`_build_app`, holding `parsing.AST_LOCK`: werkzeug compiles each URL rule with `ast`,
    which must not run while another thread parses (workers may be running)."""
    with AST_LOCK:
        return _build_app(emulator, max_body_bytes=max_body_bytes, sync_timeout=sync_timeout,
                          callbacks_only=callbacks_only)


def _build_app(emulator: Any, *, max_body_bytes: int | None, sync_timeout: float, callbacks_only: bool) -> Flask:
    """The Flask app serving `emulator` (an `AbacoEmulator`) over HTTP.

    `max_body_bytes` caps request bodies (413 above it; None for no cap);
    `sync_timeout` is how long a `?_abaco_synchronous=true` message may wait;
    `callbacks_only`: the private API of an emulator that is not served, for its
    executions' tokens alone (`auth.identify_callback`).
    """
    from .openapi import openapi_document

    service = emulator.service
    v2: Dialect = emulator.dialect
    v3: Dialect = emulator.v3_dialect
    default = Caller(emulator.user, frozenset(emulator.roles), service.options.tenant)
    tapis_tenants = {emulator.tapis_tenant: service.options.tenant}

    def dialect_of(path: str) -> Dialect:
        """The dialect a path is in: errors of `/v3/...` are Tapis envelopes."""
        return v3 if path == "/v3" or path.startswith("/v3/") else v2

    def caller_of(dialect: Dialect) -> Caller:
        if callbacks_only:
            return identify_callback(request.headers.items(), request.args, emulator.tokens, default)
        if dialect is v3:
            caller = identify_tapis(request.headers.items(), request.args, emulator.tokens, default, tapis_tenants)
        else:
            caller = identify(request.headers.items(), request.args, emulator.tokens, default)
        return with_user_roles(caller, emulator.user_roles)
    app = Flask("abaco_emulator")
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    app.config["MAX_FORM_MEMORY_SIZE"] = max_body_bytes
    app.url_map.strict_slashes = False
    app.extensions["abaco_emulator"] = emulator
    # As Abaco's CORS(app): every answer (errors too) carries Access-Control-Allow-Origin,
    # and an OPTIONS preflight is answered without credentials.
    CORS(app)
    app.wsgi_app = _merge_slashes(app.wsgi_app)  # type: ignore[method-assign]

    def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return Response(json.dumps(body, default=str), status=status, mimetype="application/json",
                        headers=headers)

    def error_response(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
        return json_response(dialect_of(request.path).error(message), status, headers)

    def respond(dialect: Dialect, op: Operation, caller: Caller | None, path: dict[str, str]) -> Response:
        if op.name == "getOpenApi":
            return json_response(openapi_document(server_url=service.options.api_server))
        assert caller is not None
        read = None
        if op.body is not None and op.body != "message":
            decoded = json_body(describe_body(op.body))
            read = lambda: dialect.read_body(op, decoded)  # noqa: E731 - read after authorization
        result, message, kind = answer(op, perform(service, op, caller, path, read, **_query_arguments(op)))
        if op.result == "raw":
            return Response(result, status=200, content_type="application/octet-stream")
        if op.name == "sendMessage" and is_true(request.args.get("_abaco_synchronous")):
            return synchronous(dialect, result["execution_id"], result["actor_id"])
        return json_response(dialect.envelope(dialect.renderers[kind](result, service.options.api_server), message))

    def synchronous(dialect: Dialect, execution_id: str, actor_id: str) -> Response:
        try:
            data, content_type = service.synchronous_answer(execution_id, sync_timeout)
        except ExecutionTimeout:
            return error_response(f"Synchronous execution {execution_id} did not finish within "
                                  f"{sync_timeout:g} s; it continues, poll it with GET "
                                  f"{dialect.prefixes[0]}/{actor_id}/executions/{execution_id}.", 504)
        return Response(data, status=200, content_type=content_type, headers={"X-Abaco-Execution-Id": execution_id})

    def endpoint(dialect: Dialect, op: Operation, bare: bool) -> Callable[..., Response]:
        def handle(**path: str) -> Response:
            identifier = path.get("actor_id")
            if identifier in ROUTE_WORDS or (bare and identifier in VERSION_WORDS):
                # e.g. DELETE /actors/v2/aliases: a route with a method it lacks, not an actor
                # called "aliases" (nor, under /actors, an actor called "v2").
                return error_response(NOT_ALLOWED, 405)
            caller = None if op.public else caller_of(dialect)
            return respond(dialect, op, caller, path)

        handle.__name__ = op.name
        return handle

    for dialect in (v2, v3):
        for prefix in dialect.prefixes:
            bare = prefix != dialect.prefixes[0]
            label = "bare" if bare else dialect.name
            for op in OPERATIONS:
                if not op.emulator_only:
                    app.add_url_rule(prefix + werkzeug_path(op.path), endpoint=f"{label}_{op.name}",
                                     view_func=endpoint(dialect, op, bare), methods=[op.method])
    for op in OPERATIONS:
        if op.emulator_only:
            app.add_url_rule(EMULATOR_PREFIX + werkzeug_path(op.path), endpoint=f"emulator_{op.name}",
                             view_func=endpoint(v2, op, False), methods=[op.method])
    register_tapis_services(app, emulator)

    dashboard.register(app, emulator)  # `/`: the live dashboard (dashboard.py)

    @app.errorhandler(AbacoError)
    def abaco_error(error: AbacoError) -> Response:
        headers = {"WWW-Authenticate": 'Bearer realm="abaco-emulator"'} if error.status_code == 401 else None
        return error_response(error.message, error.status_code, headers)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        code = error.code or 500
        if code in (404, 405):
            if dialect_of(request.path) is v3 and not request.path.startswith(V3_PREFIX):
                # outside the actors API: the gateway (nginx) answers, not Abaco
                return json_response(NOT_AN_ENDPOINT, 404)
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

    return app
