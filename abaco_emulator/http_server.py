"""The HTTP server of an emulator: waitress serving the Flask app in a background thread.

`EmulatorServer` is what `serve()` (server.py) returns, and what a bare emulator runs
privately for its containers' callbacks (`serve_callbacks`). It never creates an
emulator, so the emulator may start one without importing `serve()`.
"""
from __future__ import annotations

import ipaddress
import json
import logging
import threading
from typing import TYPE_CHECKING, Any

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import ErrorTask

from .dialects.abaco_v2 import AbacoV2
from .http_app import DEFAULT_MAX_BODY_BYTES, DEFAULT_SYNC_TIMEOUT, create_app

if TYPE_CHECKING:
    from .emulator import AbacoEmulator

log = logging.getLogger("abaco_emulator.server")

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

        try:
            self._server.trigger.pull_trigger(run)
        except OSError:  # the loop ended meanwhile (its map emptied) and closed its trigger: nothing is left to do
            return
        done.wait(10)

    def __enter__(self) -> "EmulatorServer":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<EmulatorServer {self.url}{' closed' if self._closed else ''}>"


def serve_callbacks(emulator: AbacoEmulator) -> EmulatorServer:
    """The private API of an emulator that is not served: on a free loopback port, for the
    tokens of its own executions only, so that a container's `get_client()` and
    `update_state()` reach this emulator and no other server. Only containers are told of
    it (`_abaco_api_server`); the `_links` the emulator shows do not change."""
    server = EmulatorServer(emulator, host="127.0.0.1", port=0, token="", owns_emulator=False,
                            max_body_bytes=DEFAULT_MAX_BODY_BYTES, sync_timeout=DEFAULT_SYNC_TIMEOUT,
                            set_api_server=False, callbacks_only=True)
    emulator.engine.api_server = server.url
    return server
