"""Bad input, case by case: every answer is Abaco's error envelope, never a 500, a hang, HTML
or a traceback, and the emulator keeps serving.

Requests go through `http.client` (the `raw` helper) where a client library would tidy
the request up first: `requests` removes `..` segments and encodes what it sends, so
the server would never see the bad input. Every socket has a timeout, so a hang fails
the test instead of holding CI.
"""
from __future__ import annotations

import http.client
import json
import socket
from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest
import requests

from abaco_emulator import AbacoEmulator
from abaco_emulator.http_app import DEFAULT_MAX_BODY_BYTES, NOT_ALLOWED, ROUTES
from abaco_emulator.schemas import MAX_JSON_DEPTH, SCHEMAS
from abaco_emulator.server import serve
from abaco_emulator.service import MAX_WORKERS_PER_ACTOR

from abaco_checks import abaco_error, echo

ENVELOPE_KEYS = {"message", "result", "status", "version"}
TIMEOUT = 20
ADMIN_ROLE = "Internal/abaco-admin"
JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


def raw(server, method: str, path: str, body: bytes | str | None = None,
        headers: dict[str, str] | None = None) -> Answer:
    """One request exactly as given (no normalisation of the path), with a timeout."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        data = body.encode("utf-8") if isinstance(body, str) else body
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        if data is not None:
            connection.putheader("Content-Length", str(len(data)))
        connection.endheaders(data)
        response = connection.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def exchange(server, request: bytes) -> bytes:
    """Send raw bytes (what http.client would refuse to send) and read the whole answer."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
    try:
        sock.sendall(request)
        data = b""
        while part := sock.recv(65536):
            data += part
        return data
    finally:
        sock.close()


def assert_clean(answer: Answer | requests.Response) -> None:
    """Whatever the status: no 5xx, no HTML page, no traceback."""
    text = answer.text
    assert answer.status < 500 if isinstance(answer, Answer) else answer.status_code < 500, text[:300]
    assert "Traceback" not in text and 'File "' not in text, text[:300]
    lowered = text.lower()
    assert "<html" not in lowered and "<!doctype" not in lowered, text[:300]


def envelope_error(answer: Answer | requests.Response, status: int | None = None, *fragments: str) -> str:
    """The message of an error envelope (4xx unless `status` says which), naming `fragments`."""
    assert_clean(answer)
    code = answer.status if isinstance(answer, Answer) else answer.status_code
    if status is not None:
        assert code == status, (code, answer.text[:300])
    assert 400 <= code < 500, (code, answer.text[:300])
    content_type = answer.headers.get("content-type", "") if isinstance(answer, Answer) \
        else answer.headers.get("Content-Type", "")
    assert content_type.startswith("application/json"), content_type
    body = answer.json()
    assert set(body) == ENVELOPE_KEYS, body
    assert body["status"] == "error" and body["result"] is None, body
    assert isinstance(body["message"], str) and body["message"].strip(), body
    for fragment in fragments:
        assert fragment.lower() in body["message"].lower(), (fragment, body["message"])
    return body["message"]


def nested_text(depth: int, kind: str = "list") -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth - 1):
        value = [value]
    return [value] if depth else value


# -- fixtures ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server():
    with serve(runner="local", max_body_bytes=None) as running:
        running.emulator.register_image("echo:1", echo)
        yield running
        running.emulator.raise_background_errors()


@pytest.fixture(scope="module")
def records(server):
    """An actor with an alias, an execution, a worker and a nonce: real ids for every route."""
    ag = server.emulator
    actor = ag.actors.add(body={"image": "echo:1", "stateless": False, "name": "target"})
    ag.actors.addAlias(body={"alias": "target-alias", "actorId": actor.id})
    sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "m"})
    ag.wait_for_execution(actor.id, sent.executionId, timeout=10)
    worker = ag.actors.listWorkers(actorId=actor.id)[0]
    nonce = ag.actors.addNonce(actorId=actor.id, body={"level": "READ"})
    ag.configs.add(body={"name": "target-config", "value": "v", "isSecret": True, "actors": actor.id})
    return {"actor_id": actor.id, "alias": "target-alias", "execution_id": sent.executionId,
            "worker_id": worker.id, "nonce_id": nonce.id, "search_type": "actors", "config_name": "target-config"}


def concrete(route_path: str, values: dict[str, str], prefix: str = "/actors/v2") -> str:
    path = route_path
    for name, value in values.items():
        path = path.replace(f"<{name}>", value)
    return prefix + path


def still_serving(server, records) -> None:
    """A normal request after the bad ones is answered."""
    answer = raw(server, "GET", f"/actors/v2/{records['actor_id']}")
    assert answer.status == 200, answer.text
    assert answer.json()["result"]["id"] == records["actor_id"]


BODY_ROUTES = [route for route in ROUTES if route.method in ("POST", "PUT")]


# -- oversized bodies -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small():
    """A server whose body limit is 1 KiB (`serve(max_body_bytes=...)`, `serve --max-body-bytes`)."""
    with serve(runner="local", max_body_bytes=1024) as running:
        running.emulator.register_image("echo:1", echo)
        yield running


@pytest.fixture(scope="module")
def small_records(small):
    ag = small.emulator
    actor = ag.actors.add(body={"image": "echo:1", "stateless": False})
    ag.actors.addAlias(body={"alias": "small-alias", "actorId": actor.id})
    return {"actor_id": actor.id, "alias": "small-alias", "execution_id": "E", "worker_id": "W",
            "nonce_id": "N", "search_type": "actors"}


@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda r: f"{r.method} {r.path}")
@pytest.mark.parametrize("content_type", ["application/json", "application/octet-stream",
                                          "application/x-www-form-urlencoded", "text/plain"])
def test_a_body_above_the_configured_limit_is_413_on_every_route(small, small_records, route, content_type):
    body = json.dumps({"image": "echo:1", "message": "m", "description": "d" * 4096})
    answer = raw(small, route.method, concrete(route.path, small_records), body, {"Content-Type": content_type})
    envelope_error(answer, 413, "too large", "1024")


def test_a_chunked_body_above_the_limit_is_413(small, small_records):
    """No Content-Length to check up front: the limit still holds while the body is read."""
    chunk = b"x" * 4000
    data = exchange(small, b"POST /actors/v2/%s/messages HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                    b"Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
                    % small_records["actor_id"].encode() + b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk))
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), data[:300]
    assert json.loads(body)["status"] == "error"


def test_a_malformed_chunked_body_is_a_400_envelope(server, records):
    """Refused by the HTTP server itself, before the app, and still an envelope."""
    data = exchange(server, b"POST /actors/v2/%s/messages HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                    b"Content-Type: application/octet-stream\r\n\r\nzz\r\nxx\r\n0\r\n\r\n"
                    % records["actor_id"].encode())
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), data[:300]
    assert b"content-type: application/json" in head.lower(), head
    answer = json.loads(body)
    assert answer["status"] == "error" and answer["result"] is None and "chunk" in answer["message"].lower()
    still_serving(server, records)


def test_a_body_at_the_limit_is_accepted(small, small_records):
    answer = raw(small, "POST", f"/actors/v2/{small_records['actor_id']}/messages", b"y" * 1024,
                 {"Content-Type": "application/octet-stream"})
    assert answer.status == 200, answer.text


def test_the_default_limit_is_16_mib():
    """Without max_body_bytes a server still has a limit (nobody can fill the memory)."""
    assert DEFAULT_MAX_BODY_BYTES == 16 * 1024 * 1024
    with serve(runner="local") as running:
        assert running.app.config["MAX_CONTENT_LENGTH"] == DEFAULT_MAX_BODY_BYTES
        answer = raw(running, "POST", "/actors/v2", b"{" + b" " * DEFAULT_MAX_BODY_BYTES + b"}", JSON_HEADERS)
        envelope_error(answer, 413, "too large", str(DEFAULT_MAX_BODY_BYTES))


# -- nesting ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["list", "dict"])
@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_json_nested_100k_levels_is_400_on_every_route(server, records, route, kind):
    answer = raw(server, route.method, concrete(route.path, records), nested_text(100_000, kind), JSON_HEADERS)
    envelope_error(answer, 400)
    still_serving(server, records)


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 990, 2000])
@pytest.mark.parametrize("target", ["state", "message", "environment", "actor", "hints"])
def test_json_nested_past_the_limit_is_refused_naming_it(server, records, target, depth):
    """Deep values that Python can parse but not safely copy or write are refused up front,
    before anything is stored (they used to be stored, then every answer was a 500)."""
    actor_id = records["actor_id"]
    body, path = {
        "state": (nested_text(depth), f"/actors/v2/{actor_id}/state"),
        "message": (nested_text(depth), f"/actors/v2/{actor_id}/messages"),
        "environment": (json.dumps({"image": "echo:1", "defaultEnvironment": {"K": "x"}})[:-2]
                        + ', "DEEP": ' + nested_text(depth - 2) + "}}", "/actors/v2"),
        "actor": ('{"image": "echo:1", "description": ' + nested_text(depth - 1) + "}", "/actors/v2"),
        "hints": ('{"image": "echo:1", "hints": ' + nested_text(depth - 1) + "}", "/actors/v2"),
    }[target]
    before = raw(server, "GET", f"/actors/v2/{actor_id}/state").json()["result"]
    answer = raw(server, "POST", path, body, JSON_HEADERS)
    message = envelope_error(answer, 400)
    named = ("nested", "recursion depth", "could not be serialized")
    assert any(words in message for words in named), message
    assert raw(server, "GET", f"/actors/v2/{actor_id}/state").json()["result"] == before
    still_serving(server, records)


def test_json_nested_to_the_limit_is_kept_and_served(server, records):
    actor_id = records["actor_id"]
    value = nested(MAX_JSON_DEPTH)
    answer = raw(server, "POST", f"/actors/v2/{actor_id}/state", json.dumps(value), JSON_HEADERS)
    assert answer.status == 200, answer.text
    assert raw(server, "GET", f"/actors/v2/{actor_id}/state").json()["result"]["state"] == value


@pytest.mark.parametrize("where", ["/actors/v2", "/actors/v2/search/actors", "/actors/v2/{actor_id}/executions"])
def test_a_deeply_nested_query_is_400(server, records, where):
    path = where.format(**records)
    for depth in (MAX_JSON_DEPTH + 1, 30_000):
        answer = raw(server, "GET", f"{path}?q={nested_text(depth, 'dict')}")
        envelope_error(answer, 400, "q")
    answer = raw(server, "GET", f"/actors/v2/search/executions?status.in={nested_text(50_000)}")
    envelope_error(answer, 400)


# -- encodings and content types --------------------------------------------------------------

@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_invalid_utf8_in_a_json_body_is_400(server, records, route):
    answer = raw(server, route.method, concrete(route.path, records), b'{"image": "\xff\xfe", "message": "\xc3"}',
                 JSON_HEADERS)
    message = envelope_error(answer, 400)
    assert "UTF-8" in message or "could not be serialized" in message, message


@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_binary_sent_as_json_is_400(server, records, route):
    answer = raw(server, route.method, concrete(route.path, records), bytes(range(256)) * 4, JSON_HEADERS)
    envelope_error(answer, 400)


def test_json_sent_as_octet_stream_is_a_binary_message(server, records):
    """Content-Type decides: JSON bytes sent as binary are a binary message, not JSON."""
    answer = raw(server, "POST", f"/actors/v2/{records['actor_id']}/messages", b'{"message": "x"}',
                 {"Content-Type": "application/octet-stream"})
    assert answer.status == 200, answer.text
    assert answer.json()["result"]["msg"] == "binary - omitted"


@pytest.mark.parametrize("query", ["q=%ff%fe", "limit=%ff", "skip=%c3", "x-nonce=%ff", "search=%ed%a0%80"])
def test_invalid_utf8_in_query_strings_is_never_a_500(server, records, query):
    for path in ("/actors/v2", "/actors/v2/search/actors", f"/actors/v2/{records['actor_id']}/executions"):
        answer = raw(server, "GET", f"{path}?{query}")
        assert_clean(answer)
        assert answer.json()["status"] in ("success", "error")


def test_invalid_utf8_in_message_variables_arrives_as_text(server, records):
    """Query parameters of a message become variables: undecodable bytes arrive as text, not a 500."""
    seen = []
    server.emulator.register_image("seen:1", lambda ctx: seen.append(ctx["K"]))
    actor = server.emulator.actors.add(body={"image": "seen:1"})
    answer = raw(server, "POST", f"/actors/v2/{actor.id}/messages?K=a%ffb", '{"message": "m"}', JSON_HEADERS)
    assert answer.status == 200, answer.text
    server.emulator.wait_for_execution(actor.id, answer.json()["result"]["executionId"], timeout=10)
    assert seen in (["a\ufffdb"], ["a%FFb"])  # replaced, or left percent-encoded as werkzeug does


# -- identifiers ------------------------------------------------------------------------------

ODD_IDS = ["a/b", "..", "../..", "%2e%2e", "%00", "a%00b", "%2F", "a%2Fb", "%2F..%2F..%2Fetc%2Fpasswd",
           "%ff", "%ed%a0%80", "%20", "*", "x" * 5000, "%25", "~", "%0d%0aX-Injected:%201"]
ID_ROUTES = [route for route in ROUTES if "<" in route.path]


@pytest.mark.parametrize("odd", ODD_IDS)
def test_odd_identifiers_on_every_route_are_envelopes(server, records, odd):
    for route in ID_ROUTES:
        for name in ("actor_id", "alias", "execution_id", "worker_id", "nonce_id", "search_type"):
            if f"<{name}>" not in route.path:
                continue
            values = {**records, name: odd}
            answer = raw(server, route.method, concrete(route.path, values), "{}", JSON_HEADERS)
            assert_clean(answer)
            assert "x-injected" not in answer.headers
            assert not 300 <= answer.status < 400, answer.headers  # "//" is merged, never redirected
            if answer.status != 200:
                envelope_error(answer)
    still_serving(server, records)
    assert server.emulator.actors.get(actorId=records["actor_id"]).id == records["actor_id"]


@pytest.mark.parametrize("path", ["/actors//v2", "/actors/v2//aliases", "/actors/v2/aliases//", "//actors///v2"])
def test_a_path_with_repeated_slashes_is_answered_as_with_one(server, path):
    """As the gateway in front of Abaco (nginx, merge_slashes) does: tapipy posts to `//messages`."""
    answer = raw(server, "GET", path)
    assert answer.status == 200, answer.text
    assert answer.json()["status"] == "success"
    assert "<html" not in answer.text.lower()


def test_dot_segments_do_not_reach_another_actor(server, records):
    """`<id>/../<other>` is not a way around a permission check: it is not resolved at all."""
    other = server.emulator.as_user("alice").actors.add(body={"image": "echo:1"})
    for path in (f"/actors/v2/{records['actor_id']}/../{other.id}", f"/actors/v2/x/..%2F{other.id}",
                 f"/actors/v2/%2e%2e/{other.id}"):
        answer = raw(server, "GET", path)
        assert_clean(answer)
        if answer.status == 200:  # only possible if the server resolved the path to the other actor
            assert answer.json()["result"].get("id") != other.id


# -- long requests ----------------------------------------------------------------------------

def test_very_long_query_strings_and_urls_are_envelopes(server, records):
    long = "a" * 100_000
    for path in (f"/actors/v2?q={long}", f"/actors/v2/{long}", f"/actors/v2/{records['actor_id']}?x={long}",
                 f"/actors/v2/search/actors?{long}=1", f"/actors/v2/aliases/{long}",
                 "/actors/v2?" + "&".join(f"k{i}=v" for i in range(10_000))):
        answer = raw(server, "GET", path)
        assert_clean(answer)
        assert answer.headers["content-type"].startswith("application/json")
    still_serving(server, records)


def test_a_request_head_above_the_server_limit_is_a_431_envelope(server, records):
    """Past 256 KiB of request line and headers the HTTP server itself refuses, before the
    app: still Abaco's envelope, and the server keeps serving."""
    answer = raw(server, "GET", "/actors/v2?q=" + "a" * 300_000)
    assert "too large" in envelope_error(answer, 431).lower()
    still_serving(server, records)


# -- fields -----------------------------------------------------------------------------------

SCHEMA_ROUTES = {
    "Actor": ("POST", "/actors/v2", {"image": "echo:1"}),
    "MessageRequest": ("POST", "/actors/v2/{actor_id}/messages", {}),
    "PermissionsUpdateRequest": ("POST", "/actors/v2/{actor_id}/permissions", {"user": "bob", "level": "READ"}),
    "AddNonceRequest": ("POST", "/actors/v2/{actor_id}/nonces", {"level": "READ"}),
    "AddAliasRequest": ("POST", "/actors/v2/aliases", {"alias": "fresh-alias", "actorId": "{actor_id}"}),
    "AddWorkersRequest": ("POST", "/actors/v2/{actor_id}/workers", {"num": 1}),
    "UpdateAliasRequest": ("PUT", "/actors/v2/aliases/{alias}", {"actorId": "{actor_id}"}),
    "AddExecutionRequest": ("POST", "/actors/v2/{actor_id}/executions", {"runtime": 1, "cpu": 1, "io": 1}),
    "AdvanceClockRequest": ("POST", "/emulator/v1/clock", {"seconds": 0}),
    "ActorConfig": ("POST", "/actors/v2/configs",
                    {"name": "fresh-config", "value": "v", "isSecret": False, "actors": "{actor_id}"}),
    "ActorConfigUpdate": ("PUT", "/actors/v2/configs/{config_name}",
                          {"name": "target-config", "value": "v", "isSecret": False, "actors": "{actor_id}"}),
}
CANDIDATES = [123, -1, 1.5, "text", True, None, [1, "a"], {"a": 1}, [], {}]


def wrong_values(schema: dict[str, Any]) -> list[Any]:
    """Values of every JSON type the field's schema does not accept."""
    validator = jsonschema.Draft7Validator(schema)
    return [value for value in CANDIDATES if not validator.is_valid(value)]


# Abaco reads a message's `message` field with reqparse's type=str: any JSON value is a
# string message (its str()), checked in tests/transports/test_http_api.py.
READ_AS_TEXT = {("MessageRequest", "message")}
FIELD_CASES = [(name, field, value) for name, schema in SCHEMAS.items()
               for field, field_schema in schema["properties"].items() if (name, field) not in READ_AS_TEXT
               for value in wrong_values(field_schema)]


def test_every_field_of_every_schema_has_wrong_values():
    fields = {(name, field) for name, field, _ in FIELD_CASES}
    assert fields | READ_AS_TEXT == {(name, field) for name, schema in SCHEMAS.items()
                                     for field in schema["properties"]}


@pytest.mark.parametrize("schema_name, field, value", FIELD_CASES,
                         ids=[f"{n}.{f}={v!r}"[:60] for n, f, v in FIELD_CASES])
def test_a_wrong_type_for_any_field_is_400_naming_the_field(server, records, schema_name, field, value):
    method, path, base = SCHEMA_ROUTES[schema_name]
    body = {key: (v.format(**records) if isinstance(v, str) else v) for key, v in base.items()}
    body[field] = value
    answer = raw(server, method, path.format(**records), json.dumps(body), JSON_HEADERS)
    envelope_error(answer, 400, field)


@pytest.mark.parametrize("schema_name", sorted(SCHEMA_ROUTES))
def test_a_body_that_is_not_an_object_is_400(server, records, schema_name):
    method, path, _ = SCHEMA_ROUTES[schema_name]
    for body in ("42", '"text"', "null", "true", "[1, 2]"):
        answer = raw(server, method, path.format(**records), body, JSON_HEADERS)
        if schema_name == "MessageRequest" and body == "[1, 2]":
            assert answer.status == 200  # a JSON list is a JSON message, as in Abaco
            continue
        if schema_name in ("AddNonceRequest", "AddWorkersRequest") and body == "null":
            continue  # no body (null) asks for the defaults, as agavepy's body=None does
        envelope_error(answer, 400)


def test_unknown_fields_are_ignored_not_echoed(server, records):
    body = {"image": "echo:1", "bogus": 1, "nested": {"deep": [1, 2]}, "__proto__": {"admin": True},
            "owner": "someone-else", "id": "AAAAAAAAAAAAA", "status": "READY"}
    answer = raw(server, "POST", "/actors/v2", json.dumps(body), JSON_HEADERS)
    assert answer.status == 200, answer.text
    actor = answer.json()["result"]
    assert "bogus" not in actor and "nested" not in actor and "__proto__" not in actor
    assert actor["owner"] == "testuser" and actor["id"] != "AAAAAAAAAAAAA" and actor["status"] == "SUBMITTED"


# -- methods ----------------------------------------------------------------------------------

ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "TRACE", "CONNECT", "PROPFIND", "FOO"]


def test_a_method_a_route_lacks_is_the_405_envelope(server, records):
    allowed: dict[str, set[str]] = {}
    for route in ROUTES:
        allowed.setdefault(route.path, set()).add(route.method)
    checked = 0
    for path, methods in allowed.items():
        for method in ALL_METHODS:
            if method in methods or method == "CONNECT":
                continue
            answer = raw(server, method, concrete(path, records), "{}", JSON_HEADERS)
            assert envelope_error(answer, 405) == NOT_ALLOWED, (method, path)
            checked += 1
    assert checked > 100


@pytest.mark.parametrize("route", [r for r in ROUTES if r.method == "GET"], ids=lambda r: r.path)
def test_head_answers_like_get_without_a_body(server, records, route):
    answer = raw(server, "HEAD", concrete(route.path, records))
    assert answer.status < 500 and answer.body == b""


@pytest.mark.parametrize("path", sorted({r.path for r in ROUTES}))
def test_options_lists_the_methods_without_a_page(server, records, path):
    answer = raw(server, "OPTIONS", concrete(path, records))
    assert answer.status == 200
    assert answer.body == b"" or answer.json()["status"] in ("success", "error")
    listed = {m.strip() for m in answer.headers.get("allow", "").split(",")}
    assert {r.method for r in ROUTES if r.path == path} <= listed


# -- credentials ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def closed():
    with serve(runner="local", tokens={"alice-token": "alice"}) as running:
        running.emulator.register_image("echo:1", echo)
        yield running


BAD_CREDENTIALS = [
    {"Authorization": ""}, {"Authorization": "Bearer"}, {"Authorization": "Bearer "},
    {"Authorization": "Basic YWxpY2U6cGFzcw=="}, {"Authorization": "Bearer " + "x" * 20_000},
    {"Authorization": "Bearer alice-token extra"}, {"Authorization": "garbage"},
    {"Authorization": "Bearer \u00e9\u00e8"}, {"X-Jwt-Assertion-DEV-DEVELOP": ""},
    {"X-Jwt-Assertion-DEV-DEVELOP": "a.b.c"}, {"X-Jwt-Assertion-DEV-DEVELOP": "...."},
    {"X-Jwt-Assertion-DEV-DEVELOP": "a.WzFd.c"},  # payload [1]
    {"X-Jwt-Assertion-DEV-DEVELOP": "a.eyJodHRwOi8vd3NvMi5vcmcvY2xhaW1zL2VuZHVzZXIiOiAxfQ.c"},  # enduser 1
    {"X-Jwt-Assertion-DEV-DEVELOP": "a." + "A" * 50_000 + ".c"}, {"X-Jwt-Assertion-": "x"},
]


@pytest.mark.parametrize("headers", BAD_CREDENTIALS, ids=lambda h: repr(h)[:40])
def test_missing_or_garbage_credentials_are_401_envelopes(closed, headers):
    for path in ("/actors/v2", "/actors/v2/aliases", "/actors/v2/search/actors"):
        answer = raw(closed, "GET", path, headers={k: v.encode("utf-8").decode("latin-1") for k, v in headers.items()})
        assert_clean(answer)
        if answer.status != 200:  # e.g. an empty Authorization is as good as none: 401 all the same
            envelope_error(answer, 401)
        else:
            raise AssertionError(f"{headers} was accepted on a server with tokens")
    assert raw(closed, "GET", "/actors/v2", headers={"Authorization": "Bearer alice-token"}).status == 200


def test_no_credentials_on_a_server_with_tokens_is_401(closed):
    envelope_error(raw(closed, "GET", "/actors/v2"), 401, "credentials")
    envelope_error(raw(closed, "POST", "/actors/v2", '{"image": "echo:1"}', JSON_HEADERS), 401)


def test_bytes_that_are_not_text_in_headers_are_never_a_500(server, records):
    data = exchange(server, b"GET /actors/v2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                    b"Authorization: Bearer \xff\xfe\x00\r\nX-Jwt-Assertion-A: \xff.\xfe.\xfd\r\n\r\n")
    status = int(data.split(b" ", 2)[1])
    assert status < 500 and b"Traceback" not in data and b"<html" not in data.lower(), data[:300]
    still_serving(server, records)


# -- no hang ----------------------------------------------------------------------------------

def test_a_client_that_never_sends_its_body_does_not_hold_up_others(server, records):
    """A request that announces more bytes than it sends waits alone: others are answered."""
    stalled = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
    try:
        stalled.sendall(b"POST /actors/v2 HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                        b"Content-Length: 1000\r\n\r\n{\"image\"")
        for _ in range(3):
            still_serving(server, records)
    finally:
        stalled.close()
    still_serving(server, records)


def test_a_synchronous_message_that_never_finishes_is_a_504_envelope_not_a_hang():
    with serve(runner="local", sync_timeout=0.5) as running:
        actor = running.emulator.actors.add(body={"image": "never-registered:1"})  # stays queued
        answer = raw(running, "POST", f"/actors/v2/{actor.id}/messages?_abaco_synchronous=true",
                     '{"message": "m"}', JSON_HEADERS)
        assert answer.status == 504
        assert "did not finish" in answer.json()["message"]


# -- the in-process facade: the cases the fuzzer found ----------------------------------------

@pytest.fixture
def ag():
    with AbacoEmulator(runner="local") as emulator:
        emulator.register_image("echo:1", echo)
        yield emulator
        emulator.raise_background_errors()


@pytest.fixture
def stateful(ag):
    return ag.actors.add(body={"image": "echo:1", "stateless": False})


@pytest.mark.parametrize("method, kwargs", [
    ("list", {"limit": "x"}), ("list", {"skip": "x"}), ("list", {"offset": 1.5}), ("list", {"limit": True}),
    ("getSearch", {"search_type": "actors", "limit": [1]}), ("getSearch", {"search_type": "actors", "skip": "?"}),
])
def test_facade_paging_arguments_that_are_not_integers_are_400(ag, method, kwargs):
    name = next(k for k in kwargs if k in ("limit", "skip", "offset"))
    with abaco_error(400, name, "not an integer"):
        getattr(ag.actors, method)(**kwargs)


def test_facade_paging_arguments_as_digit_strings_work_as_over_http(ag, stateful):
    # with paging arguments a listing is a search, as on Abaco
    assert [a["id"] for a in ag.actors.list(limit="5", skip="0")["search"]] == [stateful.id]
    assert ag.actors.listExecutions(actorId=stateful.id, limit="1", skip="0")["_metadata"]["totalCount"] == 0


@pytest.mark.parametrize("kwargs", [{"workerId": {"x": 1}}, {"workerId": ["w"]}])
def test_facade_worker_ids_of_any_type_are_404(ag, stateful, kwargs):
    with abaco_error(404, "Worker not found."):
        ag.actors.getWorker(actorId=stateful.id, **kwargs)


@pytest.mark.parametrize("method", ["getNonce", "deleteNonce"])
def test_facade_nonce_ids_of_any_type_are_400(ag, stateful, method):
    with abaco_error(400, "Nonce not found."):
        getattr(ag.actors, method)(actorId=stateful.id, nonceId=[1])
    with abaco_error(400, "Nonce does not exist."):
        ag.actors.get(actorId=stateful.id, nonce=["not", "a", "nonce"])


def test_facade_text_message_with_a_lone_surrogate_is_400(ag, stateful):
    with abaco_error(400, "could not be serialized"):
        ag.actors.sendMessage(actorId=stateful.id, body="\ud800")


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5000])
def test_facade_values_nested_too_deep_are_400(ag, stateful, depth):
    deep = nested(depth)
    with abaco_error(400):
        ag.actors.updateState(actorId=stateful.id, body=deep)
    with abaco_error(400):
        ag.actors.sendMessage(actorId=stateful.id, body=deep)
    with abaco_error(400):
        ag.actors.sendMessage(actorId=stateful.id, body={"message": "m"}, environment={"K": deep})
    with abaco_error(400):
        ag.actors.add(body={"image": "echo:1", "defaultEnvironment": {"K": deep}})
    with abaco_error(400):
        ag.actors.list(q={"a": deep})
    assert ag.actors.getState(actorId=stateful.id).state == {}


def test_facade_query_with_field_names_that_are_not_text_is_400(ag):
    with abaco_error(400, "field names must be strings"):
        ag.actors.list(q={1: "x"})


def test_adding_more_workers_than_the_emulator_allows_is_400_not_a_thread_per_worker(ag):
    admin = ag.as_user("root", roles=[ADMIN_ROLE])
    actor = ag.actors.add(body={"image": "echo:1"})
    with abaco_error(400, "at most", str(MAX_WORKERS_PER_ACTOR)):
        admin.actors.addWorker(actorId=actor.id, body={"num": 10**9})
    assert len(ag.actors.listWorkers(actorId=actor.id)) == 1
