"""Assertions and handlers shared by the behaviour tests, in-process and over HTTP."""
from __future__ import annotations

import base64
import ctypes
import json
import os
import platform
import re
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
import requests

from abaco_emulator import AttrDict

ID = re.compile(r"^[A-Za-z0-9]{10,14}$")  # Abaco's hashids of uuid1 values: 12 or 13 characters
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
ENVELOPE_KEYS = {"message", "result", "status", "version"}
TAPIS_ENVELOPE_KEYS = ENVELOPE_KEYS | {"metadata"}  # the Tapis v3 envelope


class Caught:
    """What an Abaco error answer carried: status code and envelope message."""

    status_code: int = 0
    message: str = ""
    envelope: dict = {}


@contextmanager
def abaco_error(status: int, *fragments: str) -> Iterator[Caught]:
    """Expect the requests.HTTPError agavepy raises, with the Abaco error envelope.

    Each fragment must occur (case-insensitively) in the envelope's message, so the
    message names the problem.
    """
    caught = Caught()
    with pytest.raises(requests.exceptions.HTTPError) as info:
        yield caught
    response = info.value.response
    assert isinstance(response, requests.Response)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) in (ENVELOPE_KEYS, TAPIS_ENVELOPE_KEYS), body
    assert body["result"] is None
    assert body["status"] == "error"
    assert isinstance(body["version"], str) and body["version"]
    assert isinstance(body["message"], str) and body["message"]
    for fragment in fragments:
        assert fragment.lower() in body["message"].lower(), (fragment, body["message"])
    caught.status_code = response.status_code
    caught.message = body["message"]
    caught.envelope = body


def _model_types() -> tuple[type, ...]:
    """The AttrDict classes an agavepy model may be: the facade's, and agavepy's own."""
    try:
        from agavepy.agave import AttrDict as AgavepyAttrDict
    except ImportError:
        return (AttrDict,)
    return (AttrDict, AgavepyAttrDict)


def assert_camel_model(value, required=()) -> None:
    """An agavepy model: an AttrDict (the facade's, or agavepy's over HTTP), camelCase
    top-level keys, no nulls, attribute access."""
    assert isinstance(value, _model_types()), type(value)
    for key in value:
        assert "_" not in key.lstrip("_"), f"snake_case key {key!r} in {dict(value)}"
        assert value[key] is not None, f"null field {key!r} should be left out"
        assert getattr(value, key) is value[key]
    for key in required:
        assert key in value, f"{key!r} missing from {dict(value)}"


def echo(ctx):
    """Prints and returns the raw message."""
    print("got", ctx["raw_message"])
    return ctx["raw_message"]


def silent(ctx):
    return None


class Gate:
    """A handler that signals when an execution starts and waits to be released.

    `started` is set for every execution that enters; `running` counts executions in
    the handler now; `most` is the largest number seen at once.
    """

    def __init__(self, timeout: float = 10) -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        self.timeout = timeout
        self.running = 0
        self.most = 0
        self.entered: list[str] = []
        self._lock = threading.Lock()
        self._count = threading.Condition(self._lock)

    def __call__(self, ctx):
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.entered.append(ctx["raw_message"])
            self._count.notify_all()
        self.started.set()
        try:
            released = self.release.wait(self.timeout)
            print("released" if released else "timed out waiting for release")
            return ctx["raw_message"]
        finally:
            with self._lock:
                self.running -= 1

    def wait_entered(self, count: int, timeout: float = 10) -> bool:
        """Wait until `count` executions have entered the handler in total."""
        with self._count:
            return self._count.wait_for(lambda: len(self.entered) >= count, timeout)


def wait_until(predicate, timeout: float = 30.0, what: str = "condition"):
    """The first true value of `predicate()`, asked every 50 ms; AssertionError after `timeout`.

    For what the emulator has no wait of its own for (a container seen by Docker).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout} s")


class WebhookReceiver:
    """A webhook on 127.0.0.1 that keeps every POST as (path, headers, JSON body).

    It answers `status` (with `location` as its Location header when set), once `hold`
    is set if a test gave one: a slow or hanging receiver.
    """

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.location = ""
        self.hold: threading.Event | None = None
        self.posts: list[tuple[str, dict[str, str], Any]] = []
        self.lock = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.hold is not None:
                    receiver.hold.wait(30)
                with receiver.lock:
                    receiver.posts.append((self.path, dict(self.headers), json.loads(body)))
                    receiver.lock.notify_all()
                self.send_response(receiver.status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def bodies(self) -> list[Any]:
        with self.lock:
            return [body for _, _, body in self.posts]

    def wait_for(self, count: int, timeout: float = 10) -> list[Any]:
        """The JSON bodies of the first `count` POSTs."""
        with self.lock:
            assert self.lock.wait_for(lambda: len(self.posts) >= count, timeout), self.posts
        return self.bodies

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


_TGKILL = {"x86_64": 234, "aarch64": 131}  # the tgkill system call's number


def signal_a_thread_but_the_main_one(pid: int, signum: int) -> None:
    """Send `signum` to one of process `pid`'s other threads (tgkill): the kernel may give a
    process's signal to any thread, and only the main thread runs Python's handlers."""
    number = _TGKILL.get(platform.machine())
    if number is None:
        pytest.skip(f"no tgkill system call number known for {platform.machine()}")
    threads = wait_until(lambda: [int(t) for t in os.listdir(f"/proc/{pid}/task") if int(t) != pid], 10,
                         f"a second thread in process {pid}")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(number, pid, threads[-1], signum) != 0:
        raise OSError(ctypes.get_errno(), f"tgkill({pid}, {threads[-1]}) failed")


def all_results(ag, actor_id: str, execution_id: str) -> list[bytes]:
    """Every result of an execution, in order (each GET takes one; empty means none left)."""
    found = []
    while data := ag.actors.getOneExecutionResult(actorId=actor_id, executionId=execution_id).content:
        found.append(data)
    return found


def jwt(user: str, roles=(), tenant_suffix: str = "@carbon.super") -> str:
    """An unsigned WSO2-style JWT naming `user` and its roles (the emulator decodes, never verifies)."""
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    claims = {"http://wso2.org/claims/enduser": user + tenant_suffix,
              "http://wso2.org/claims/role": ",".join(roles)}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.signature"
