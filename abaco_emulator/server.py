"""`serve(...)`: the HTTP emulator in a background thread, for tests and scripts.

    with serve(runner="local") as server:
        requests.get(server.url + "/actors/v2", headers={"Authorization": f"Bearer {server.token}"})

Users: `tokens` maps bearer tokens to users ("name" or "name:role,role") or `Caller`s.
Without tokens the server is open: requests without credentials, and with a bearer
token it does not know, act as the emulator's default user. With tokens, every request
needs a known token, a gateway JWT or a nonce. `.token` is a token for the default user
that the server accepts in both modes.

The server binds loopback only, unless `allow_remote=True`: the emulator runs code
and has no real authentication, so it must not be reachable from other machines by
accident.
"""
from __future__ import annotations

import ipaddress
import json
import logging
import secrets
import threading
import warnings
from typing import Any, Iterable, Mapping

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import ErrorTask

from .auth import Caller, parse_user_spec
from .dialects.abaco_v2 import AbacoV2
from .emulator import AbacoEmulator
from .http_app import DEFAULT_MAX_BODY_BYTES, DEFAULT_SYNC_TIMEOUT, create_app

log = logging.getLogger(__name__)

# Request threads: synchronous messages hold one each while they wait, and actor
# containers call back while their caller waits.
_HTTP_THREADS = 32


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _EnvelopeErrorTask(ErrorTask):
    """waitress's own refusals (a request head above its limit: 431, a malformed
    request line or chunked body: 400) in Abaco's JSON envelope, as every other error,
    instead of waitress's plain-text page."""

    def execute(self) -> None:
        error = self.request.error
        body = json.dumps(AbacoV2().error(f"{error.reason}: {error.body}")).encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class _PlainHTTPChannel(HTTPChannel):
    """A connection that hangs up at once on a TLS handshake, and whose own errors
    are envelopes.

    A client speaking https to this plain-HTTP port (agavepy 0.9.5 unpatched does)
    would otherwise wait forever for the end of a request line that never comes.
    """

    error_task_class = _EnvelopeErrorTask

    _TLS_HANDSHAKE = b"\x16\x03"

    def received(self, data: bytes) -> bool:
        if self.request is None and not self.requests and data[:2] == self._TLS_HANDSHAKE:
            log.debug("closing a connection that began a TLS handshake: this server speaks plain HTTP")
            self.will_close = True
            return False
        return super().received(data)


class EmulatorServer:
    """A running HTTP emulator: `.url`, `.token`, `.emulator`; `close()` stops it."""

    def __init__(self, emulator: AbacoEmulator, *, host: str, port: int, token: str, owns_emulator: bool,
                 max_body_bytes: int | None, sync_timeout: float, set_api_server: bool,
                 callbacks_only: bool = False) -> None:
        self.emulator = emulator
        self.token = token
        self._owns_emulator = owns_emulator
        self._closed = False
        self.app = create_app(emulator, max_body_bytes=max_body_bytes, sync_timeout=sync_timeout,
                              callbacks_only=callbacks_only)
        # waitress, not werkzeug's development server: it keeps connections alive
        # (werkzeug closes every one), so a client such as agavepy's session pays no
        # connection set-up per call.
        self._server = create_server(self.app, host=host, port=port, threads=_HTTP_THREADS, ident="abaco-emulator",
                                     expose_tracebacks=False)
        self._server.channel_class = _PlainHTTPChannel
        self.host = host
        self.port = self._server.effective_port
        url_host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
        if ":" in url_host and not url_host.startswith("["):
            url_host = f"[{url_host}]"
        self.url = f"http://{url_host}:{self.port}"
        if set_api_server:
            emulator.set_api_server(self.url)
        self._thread = threading.Thread(target=self._server.run, name=f"abaco-http-{self.port}", daemon=True)
        self._thread.start()

    @property
    def api_url(self) -> str:
        """The base URL of the actors API (`<url>/actors/v2`)."""
        return self.url + "/actors/v2"

    def headers(self) -> dict[str, str]:
        """The Authorization header of `.token`."""
        return {"Authorization": f"Bearer {self.token}"}

    def close(self) -> None:
        """Stop serving; close the emulator too when `serve()` created it."""
        if self._closed:
            return
        self._closed = True
        if self._owns_emulator:
            # While still serving: new messages get 503, and running executions may call
            # back (state, results, other actors) during their grace period.
            self.emulator.engine.settle(self.emulator.shutdown_grace)

        # In this order: no new connections; the requests being served finish (their
        # answers still need the loop and its trigger); then every socket is closed in
        # the loop's own thread, which then ends.
        if self._thread.is_alive():
            # the listening socket only: the server's own close() would close the trigger too
            self._in_loop(lambda: wasyncore.dispatcher.close(self._server))
        self._server.task_dispatcher.shutdown(timeout=10)
        if self._thread.is_alive():
            self._in_loop(lambda: [channel.close() for channel in list(self._server._map.values())])
        self._thread.join(timeout=10)
        if self._owns_emulator:
            self.emulator.close()

    def _in_loop(self, action: Any) -> None:
        """Run `action` in the server's loop thread (its sockets are not thread-safe)."""
        done = threading.Event()

        def run() -> None:
            try:
                action()
            finally:
                done.set()

        self._server.trigger.pull_trigger(run)
        done.wait(10)

    def __enter__(self) -> "EmulatorServer":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<EmulatorServer {self.url}{' closed' if self._closed else ''}>"


def serve(*, host: str = "127.0.0.1", port: int = 0, tokens: Mapping[str, str | Caller] | None = None,
          allow_remote: bool = False, emulator: AbacoEmulator | None = None,
          max_body_bytes: int | None = DEFAULT_MAX_BODY_BYTES, sync_timeout: float = DEFAULT_SYNC_TIMEOUT,
          **options: Any) -> EmulatorServer:
    """Serve an emulator over HTTP in a background thread; `port=0` picks a free port.

    `options` are the keyword options of `AbacoEmulator` (runner, db_path, user, ...);
    or pass an existing `emulator` to serve it (it is then left open by `close()`).
    """
    if not is_loopback(host):
        if not allow_remote:
            raise ValueError(f"refusing to bind {host!r}: abaco-emulator serves loopback only; pass "
                             "allow_remote=True (--allow-remote) to accept other machines")
        warnings.warn(f"abaco-emulator is listening on {host}: other machines can reach it and run "
                      "actors; its authentication is for testing only", RuntimeWarning, stacklevel=2)
        log.warning("serving on non-loopback host %s", host)
    owns = emulator is None
    if emulator is None:
        emulator = AbacoEmulator(**options)
    elif options:
        raise TypeError(f"serve() got emulator= and emulator options {sorted(options)}")
    try:
        token = _configure_tokens(emulator, tokens or {})
        return EmulatorServer(emulator, host=host, port=port, token=token, owns_emulator=owns,
                              max_body_bytes=max_body_bytes, sync_timeout=sync_timeout,
                              set_api_server=not options.get("api_server"))
    except BaseException:
        if owns:
            emulator.close()
        raise


def _configure_tokens(emulator: AbacoEmulator, tokens: Mapping[str, str | Caller]) -> str:
    """Register `tokens`; the token for the default user the server will accept."""
    registry = emulator.tokens
    tenant = emulator.service.options.tenant
    default = Caller(emulator.user, frozenset(emulator.roles), tenant)
    for token, who in tokens.items():
        if not isinstance(token, str) or not token.strip():
            raise ValueError("tokens must be non-empty strings")
        caller = who if isinstance(who, Caller) else parse_user_spec(str(who), tenant)
        registry.add(token, caller)
    for token, who in tokens.items():
        if registry.caller_for(token) == default:
            return token
    token = "abaco-emulator-" + secrets.token_urlsafe(24)
    if tokens:
        registry.add(token, default)
    # Without tokens the server is open and accepts any bearer token as the default
    # user; registering this one would close it.
    return token


def user_tokens(specs: Iterable[str]) -> dict[str, str]:
    """`TOKEN=USER[:ROLE,...]` strings (the CLI's --token) as a `tokens` mapping."""
    out: dict[str, str] = {}
    for spec in specs:
        token, sep, user = spec.partition("=")
        if not sep or not token.strip() or not user.strip():
            raise ValueError("invalid --token: expected TOKEN=USER[:ROLE,...]")
        out[token.strip()] = user.strip()
    return out


def serve_callbacks(emulator: AbacoEmulator) -> EmulatorServer:
    """The private API of an emulator that is not served: on a free loopback port, for the
    tokens of its own executions only, so that a container's `get_client()` and
    `update_state()` reach this emulator and no other server."""
    return EmulatorServer(emulator, host="127.0.0.1", port=0, token="", owns_emulator=False,
                          max_body_bytes=DEFAULT_MAX_BODY_BYTES, sync_timeout=DEFAULT_SYNC_TIMEOUT,
                          set_api_server=True, callbacks_only=True)
