"""The HTTP API with raw requests (what curl sees): envelopes, status codes, bodies, users."""
from __future__ import annotations

import base64
import json
import logging
import threading
import time

import pytest
import requests

from abaco_emulator.http_app import NOT_ALLOWED
from abaco_emulator.server import serve
from abaco_emulator.service import Caller

from abaco_checks import ID, TIME, echo, jwt

ENVELOPE_KEYS = {"message", "result", "status", "version"}
ADMIN = "Internal/abaco-admin"
PREFIXES = ["/actors/v2", "/actors"]


def ok(response, message=None):
    """The result of a success envelope (with Abaco's `message` for the route, when given)."""
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == ENVELOPE_KEYS
    assert body["status"] == "success"
    assert body["message"] if message is None else body["message"] == message
    assert body["version"]
    return body["result"]


def error(response, status, *fragments):
    """The message of an error envelope with `status`."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert "<html" not in response.text.lower()
    body = response.json()
    assert set(body) == ENVELOPE_KEYS
    assert body["status"] == "error" and body["result"] is None
    for fragment in fragments:
        assert fragment.lower() in body["message"].lower(), (fragment, body["message"])
    return body["message"]


@pytest.fixture
def server():
    with serve(runner="local") as running:
        running.emulator.register_image("echo:1", echo)
        yield running
        running.emulator.raise_background_errors()


@pytest.fixture
def url(server):
    return server.url + "/actors/v2"


def add_actor(url, **fields):
    body = {"image": "echo:1", "name": "echo", **fields}
    return ok(requests.post(url, json=body), "Actor created successfully.")


def wait(server, actor_id, execution_id):
    server.emulator.engine.wait_for(execution_id, 10)
    return execution_id


# -- envelopes and both prefixes -------------------------------------------------------

@pytest.mark.parametrize("prefix", PREFIXES)
def test_actor_crud_in_envelopes_under_both_prefixes(server, prefix):
    base = server.url + prefix
    actor = ok(requests.post(base, json={"image": "echo:1", "name": "crud"}), "Actor created successfully.")
    assert ID.match(actor["id"]) and actor["owner"] == "testuser" and actor["revision"] == 1
    assert TIME.match(actor["createTime"])
    assert actor["_links"]["self"] == f"{server.url}/actors/v2/{actor['id']}"
    assert ok(requests.get(f"{base}/{actor['id']}"))["id"] == actor["id"]
    assert [a["id"] for a in ok(requests.get(base))] == [actor["id"]]
    assert [a["id"] for a in ok(requests.get(base + "/"))] == [actor["id"]]
    updated = ok(requests.put(f"{base}/{actor['id']}", json={"image": "echo:1", "description": "d"}),
                 "Actor updated successfully.")
    assert updated["description"] == "d" and updated["name"] == "crud"
    form = ok(requests.put(f"{base}/{actor['id']}", data={"image": "echo:1", "description": "form"}),
              "Actor updated successfully.")
    assert form["description"] == "form"
    assert ok(requests.delete(f"{base}/{actor['id']}"), "Actor deleted successfully.") is None
    error(requests.get(f"{base}/{actor['id']}"), 400, "does not exist")


def test_links_and_api_server_point_at_the_server(server, url):
    actor = add_actor(url)
    sent = ok(requests.post(f"{url}/{actor['id']}/messages", json={"message": "x"}))
    wait(server, actor["id"], sent["executionId"])
    execution = ok(requests.get(f"{url}/{actor['id']}/executions/{sent['executionId']}"))
    assert execution["apiServer"] == server.url
    assert execution["_links"]["logs"].startswith(server.url + "/actors/v2/")
    assert server.emulator.service.options.api_server == server.url


def test_errors_of_the_service_keep_their_status(server, url):
    error(requests.get(f"{url}/AAAAAAAAAAAAA"), 404, "Actor with identifier 'AAAAAAAAAAAAA' not found")
    error(requests.get(f"{url}/no-such-alias"), 404, "no-such-alias")
    error(requests.get(f"{server.url}/actors/v3"), 404, "v3")  # /actors/<alias>
    actor = add_actor(url)
    error(requests.post(f"{url}/{actor['id']}/state", json={"a": 1}), 404, "actor is stateless.")
    error(requests.post(url, json={"name": "no image"}), 400, "image")
    error(requests.get(f"{url}/{actor['id']}/workers/nope"), 404, "Worker not found.")
    error(requests.get(f"{url}/{actor['id']}/nonces/nope"), 400, "Nonce not found.")
    error(requests.get(f"{url}/{actor['id']}/executions/nope"), 400,
          f"No executions found with actor id of {actor['id']} and execution id of nope.")
    error(requests.get(f"{server.url}/actors/v2/search/nothing"), 400,
          "Inputted search_type nothing is invalid, must be one of ['actors', 'workers', 'executions', 'logs'].")


# -- 405, 413, bad bodies, never HTML --------------------------------------------------

@pytest.mark.parametrize("method, path", [
    ("POST", "/"), ("GET", "/nothing/here"), ("GET", "/dashboard/nothing.js"),
    ("PATCH", "/actors/v2"), ("DELETE", "/actors/v2"),
    ("DELETE", "/actors/v2/aliases"), ("POST", "/actors/v2/ABC/executions/E"), ("PUT", "/actors/v2/ABC/state"),
    ("GET", "/actors/v2/ABC/executions/E/nothing"), ("POST", "/actors/ABC/executions/E/results"),
    ("GET", "/actors/v2/ABC/messages/extra"), ("DELETE", "/actors/v2/search"), ("PUT", "/actors/aliases"),
])
def test_unknown_routes_and_wrong_methods_are_405_envelopes(server, method, path):
    response = requests.request(method, server.url + path, json={})
    assert error(response, 405) == NOT_ALLOWED


def test_body_above_the_limit_is_413():
    with serve(runner="local", max_body_bytes=1024) as small:
        small.emulator.register_image("echo:1", echo)
        actor = add_actor(small.url + "/actors/v2")
        target = f"{small.url}/actors/v2/{actor['id']}/messages"
        error(requests.post(target, data=b"x" * 4096, headers={"Content-Type": "application/octet-stream"}),
              413, "too large")
        error(requests.post(small.url + "/actors/v2", json={"image": "echo:1", "description": "d" * 4096}),
              413, "1024")
        error(requests.post(target, data={"message": "m" * 4096}), 413)
        assert ok(requests.post(target, data=b"y" * 512, headers={"Content-Type": "application/octet-stream"}))


@pytest.mark.parametrize("body, fragment", [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe{}", "not valid UTF-8"),
    (b"[1, 2", "not valid JSON"),
])
def test_undecodable_bodies_are_400_naming_the_problem(url, body, fragment):
    headers = {"Content-Type": "application/json"}
    error(requests.post(url, data=body, headers=headers), 400, "actor description", fragment)
    actor = add_actor(url)
    error(requests.post(f"{url}/{actor['id']}/permissions", data=body, headers=headers), 400, fragment)
    error(requests.post(f"{url}/{actor['id']}/messages", data=body, headers=headers), 400,
          "could not be serialized")


def test_message_bodies_that_are_not_messages(url):
    actor = add_actor(url)
    target = f"{url}/{actor['id']}/messages"
    error(requests.post(target, data=b"plain words", headers={"Content-Type": "text/plain"}), 400,
          "message POST body could not be serialized. Pass JSON data or use the message attribute.")
    error(requests.post(target, json=42), 400, "could not be serialized")
    # reqparse reads the message field with type=str: any JSON value becomes its str()
    assert ok(requests.post(target, json={"message": 1}))["msg"] == "1"
    error(requests.post(target), 400, "could not be serialized")
    error(requests.post(target, data={"other": "field"}), 400, "could not be serialized")


def test_a_bug_is_a_500_envelope_and_logged(server, url, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")
    monkeypatch.setattr(server.emulator.service, "list_actors", broken)
    with caplog.at_level(logging.ERROR, logger="abaco_emulator.http_app"):
        error(requests.get(url), 500, "RuntimeError", "boom")
    assert "boom" in caplog.text


# -- messages ----------------------------------------------------------------------------

@pytest.fixture
def seen(server):
    contexts = []

    def record(ctx):
        contexts.append(ctx)
        print("seen")
        return None
    server.emulator.register_image("seen:1", record)
    return contexts


def test_json_form_and_binary_messages(server, url, seen):
    actor = add_actor(url, image="seen:1")
    target = f"{url}/{actor['id']}/messages"
    string = ok(requests.post(target, json={"message": "hello"}))
    assert string["msg"] == "hello" and ID.match(string["executionId"])
    form = ok(requests.post(target, data={"message": "from a form"}))
    assert form["msg"] == "from a form"
    obj = ok(requests.post(target, json={"city": "Austin", "n": 3}))
    assert obj["msg"] == {"city": "Austin", "n": 3}
    data = bytes(range(256)) * 3
    binary = ok(requests.post(target, data=data, headers={"Content-Type": "application/octet-stream"}))
    assert binary["msg"] == "binary - omitted"
    # curl -d without -H labels JSON as a form: Abaco reads a form without a message field
    error(requests.post(target, data='{"message": "curl -d"}',
                        headers={"Content-Type": "application/x-www-form-urlencoded"}), 400, "serialized")
    for sent in (string, form, obj, binary):
        wait(server, actor["id"], sent["executionId"])
    by_id = {ctx["execution_id"]: ctx for ctx in seen}
    assert by_id[string["executionId"]]["raw_message"] == "hello"
    assert by_id[string["executionId"]]["content_type"] == "str"
    assert by_id[form["executionId"]]["raw_message"] == "from a form"
    assert by_id[obj["executionId"]]["content_type"] == "application/json"
    assert by_id[obj["executionId"]]["message_dict"] == {"city": "Austin", "n": 3}
    assert by_id[binary["executionId"]]["binary"] == data
    assert by_id[binary["executionId"]]["content_type"] == "application/octet-stream"


def test_query_parameters_become_environment_variables(server, url, seen):
    actor = add_actor(url, image="seen:1", defaultEnvironment={"A": "default", "B": "default"})
    sent = ok(requests.post(f"{url}/{actor['id']}/messages?B=query&C=3&environment=C",
                            json={"message": "m"}))
    wait(server, actor["id"], sent["executionId"])
    ctx = seen[0]
    assert (ctx["A"], ctx["B"], ctx["C"]) == ("default", "query", "3")
    assert ctx["environment"] == "C"  # Abaco passes every query parameter but `message`


def test_synchronous_message_answers_the_first_result_or_the_logs(server, url):
    server.emulator.register_image("two:1", lambda ctx: (ctx.send_result(b"first"), b"second")[1])
    server.emulator.register_image("talk:1", lambda ctx: print("only logs"))
    two = add_actor(url, image="two:1")
    response = requests.post(f"{url}/{two['id']}/messages?_abaco_synchronous=true", json={"message": "m"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.content == b"first"
    talk = add_actor(url, image="talk:1")
    response = requests.post(f"{server.url}/actors/{talk['id']}/messages?_abaco_synchronous=true",
                             data={"message": "m"})
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")
    assert response.text == "only logs\n"
    # not synchronous: the usual envelope
    assert ok(requests.post(f"{url}/{talk['id']}/messages?_abaco_synchronous=false", json={"message": "m"}))


def test_results_pop_one_per_get_as_raw_bytes(server, url):
    server.emulator.register_image("results:1", lambda ctx: [ctx.send_result(b"\x00one"),
                                                             ctx.send_result(b"two")] and None)
    actor = add_actor(url, image="results:1")
    sent = ok(requests.post(f"{url}/{actor['id']}/messages", json={"message": "m"}))
    wait(server, actor["id"], sent["executionId"])
    target = f"{url}/{actor['id']}/executions/{sent['executionId']}/results"
    answers = [requests.get(target) for _ in range(4)]
    assert [a.status_code for a in answers] == [200] * 4
    assert all(a.headers["Content-Type"] == "application/octet-stream" for a in answers)
    assert [a.content for a in answers] == [b"\x00one", b"two", b"", b""]
    error(requests.get(f"{url}/{actor['id']}/executions/nope/results"), 400, "No executions found")


def test_mailbox_count_and_purge(server, url):
    gate = threading.Event()
    server.emulator.register_image("slow:1", lambda ctx: gate.wait(10) and None)
    actor = add_actor(url, image="slow:1", stateless=False)
    try:
        for _ in range(3):
            ok(requests.post(f"{url}/{actor['id']}/messages", json={"message": "m"}))
        deadline = time.monotonic() + 5
        while ok(requests.get(f"{url}/{actor['id']}/messages"))["messages"] != 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        count = ok(requests.get(f"{url}/{actor['id']}/messages"))
        assert count["messages"] == 2 and count["_links"]["self"].endswith("/messages")
        purged = ok(requests.delete(f"{url}/{actor['id']}/messages"), "The request was successful")
        assert purged["msg"] == "Actor mailbox purged." and purged["_links"]["self"].endswith("/messages")
        assert ok(requests.get(f"{url}/{actor['id']}/messages"))["messages"] == 0
    finally:
        gate.set()


# -- state, executions, logs, force quit -------------------------------------------------

def test_state_executions_and_logs(server, url):
    actor = add_actor(url, stateless=False)
    assert ok(requests.get(f"{url}/{actor['id']}/state")) == {"state": {}}
    updated = ok(requests.post(f"{url}/{actor['id']}/state", json={"count": 1}), "State updated successfully.")
    assert updated["id"] == actor["id"] and updated["state"] == {"count": 1}  # Abaco's display keeps it
    assert ok(requests.get(f"{url}/{actor['id']}/state")) == {"state": {"count": 1}}
    ok(requests.post(f"{url}/{actor['id']}/state", data="[1, 2]", headers={"Content-Type": "application/json"}),
       "State updated successfully.")
    assert ok(requests.get(f"{url}/{actor['id']}/state"))["state"] == [1, 2]
    ids = [wait(server, actor["id"], ok(requests.post(f"{url}/{actor['id']}/messages",
                                                       json={"message": f"m{i}"}))["executionId"])
           for i in range(3)]
    summary = ok(requests.get(f"{url}/{actor['id']}/executions"))
    assert summary["totalExecutions"] == 3 and [e["id"] for e in summary["executions"]] == ids
    # any query parameter makes the listing a search (Abaco's ExecutionsResource.get)
    assert [e["id"] for e in ok(requests.get(f"{url}/{actor['id']}/executions?limit=1&skip=1"),
                                "Executions search completed successfully.")["search"]] == ids[1:2]
    assert [e["id"] for e in ok(requests.get(f"{url}/{actor['id']}/executions?skip=2"))["search"]] == ids[2:]
    execution = ok(requests.get(f"{url}/{actor['id']}/executions/{ids[0]}"))
    assert execution["status"] == "COMPLETE" and execution["exitCode"] == 0
    logs = ok(requests.get(f"{url}/{actor['id']}/executions/{ids[0]}/logs"))
    assert logs["logs"] == "got m0\n"


def test_delete_execution_force_quits_a_running_one(server, url):
    server.emulator.register_image("sleeper:1", command=["sleep", "30"])
    actor = add_actor(url, image="sleeper:1")
    sent = ok(requests.post(f"{url}/{actor['id']}/messages", json={"message": "m"}))
    target = f"{url}/{actor['id']}/executions/{sent['executionId']}"
    deadline = time.monotonic() + 10
    while ok(requests.get(target))["status"] != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    started = time.monotonic()
    assert ok(requests.delete(target), f"Issued force quit command for execution {sent['executionId']}.") is None
    wait(server, actor["id"], sent["executionId"])
    assert time.monotonic() - started < 10
    assert ok(requests.get(target))["status"] == "COMPLETE"
    error(requests.delete(target), 400, "Cannot force quit an execution not in RUNNING status. "
          "Execution was found in status: COMPLETE")


# -- paging parameters -----------------------------------------------------------------------

def test_limit_offset_skip_and_bad_values(url):
    ids = [add_actor(url, name=f"a{i}")["id"] for i in range(4)]

    def found(query):  # a listing with query parameters is a search (Abaco's ActorsResource.get)
        return [a["id"] for a in ok(requests.get(f"{url}?{query}"), "Actors search completed successfully.")["search"]]
    assert found("limit=2") == ids[:2]
    assert found("skip=1&limit=2") == ids[1:3]
    assert found("skip=3") == ids[3:]
    assert found('q={"name": "a2"}') == [ids[2]]
    assert found("limit=") == ids
    assert found("offset=1") == []  # not a paging word of Abaco's search: a field that no actor has
    for query in ("limit=ten", "skip=x", "skip=1.5"):
        name, value = query.split("=")
        error(requests.get(f"{url}?{query}"), 400, f'Inputted "{name}" paramater must be an int. Received: {value}')
    error(requests.get(url + "?limit=-1"), 400, '"limit" must be positive')
    error(requests.get(url + "?q=notjson"), 400, "q")
    error(requests.get(f"{url}/{ids[0]}/executions?limit=abc"), 400, "limit")
    error(requests.get(url.replace("/actors/v2", "/actors/v2/search/actors") + "?skip=z"), 400, "skip")


# -- permissions, workers, nonces, aliases, search -------------------------------------------

def test_permissions_workers_nonces(server, url):
    actor = add_actor(url)
    aid = actor["id"]
    assert ok(requests.get(f"{url}/{aid}/permissions")) == {"testuser": "UPDATE"}
    granted = ok(requests.post(f"{url}/{aid}/permissions", json={"user": "bob", "level": "READ"}),
                 "Permission added successfully.")
    assert granted == {"testuser": "UPDATE", "bob": "READ"}
    error(requests.post(f"{url}/{aid}/permissions", json={"user": "bob", "level": "ALL"}), 400, "ALL")
    workers = ok(requests.get(f"{url}/{aid}/workers"))
    assert len(workers) == 1
    worker = ok(requests.get(f"{url}/{aid}/workers/{workers[0]['id']}"))
    assert worker["id"] == workers[0]["id"]
    error(requests.post(f"{url}/{aid}/workers", json={"num": 1}), 400, "only admins")
    admin = {"X-Jwt-Assertion-DEV-DEVELOP": jwt("root", [ADMIN])}
    assert ok(requests.post(f"{url}/{aid}/workers", json={"num": 1}, headers=admin),
              f"Actor {aid} already had 1 worker(s).") is None
    assert ok(requests.post(f"{url}/{aid}/workers", data={"num": "3"}, headers=admin),
              "Scheduled 2 new worker(s) to start. Previously, there were 1 workers.") is None
    assert ok(requests.delete(f"{url}/{aid}/workers/{worker['id']}"), "Worker scheduled to be stopped.") is None
    nonce = ok(requests.post(f"{url}/{aid}/nonces", json={"level": "READ", "maxUses": 2}),
               "Actor nonce created successfully.")
    assert nonce["level"] == "READ" and nonce["remainingUses"] == 2
    default_nonce = ok(requests.post(f"{url}/{aid}/nonces"), "Actor nonce created successfully.")
    assert default_nonce["level"] == "EXECUTE" and default_nonce["maxUses"] == -1
    assert {n["id"] for n in ok(requests.get(f"{url}/{aid}/nonces"))} == {nonce["id"], default_nonce["id"]}
    assert ok(requests.get(f"{url}/{aid}/nonces/{nonce['id']}"))["id"] == nonce["id"]
    assert ok(requests.delete(f"{url}/{aid}/nonces/{nonce['id']}"), "Actor nonce deleted successfully.") is None
    error(requests.get(f"{url}/{aid}/nonces/{nonce['id']}"), 400, "Nonce not found.")
    error(requests.post(f"{url}/{aid}/nonces", json={"maxUses": 0}), 400,
          "The max uses parameter must be a positive integer or -1 (to denote unlimited uses).")


def test_aliases_including_put_and_alias_nonces(server, url):
    first, second = add_actor(url, name="first"), add_actor(url, name="second")
    alias = ok(requests.post(f"{url}/aliases", json={"alias": "greeter", "actorId": first["id"]}),
               "Actor alias created successfully.")
    assert alias["alias"] == "greeter" and alias["actorId"] == first["id"]
    assert [a["alias"] for a in ok(requests.get(f"{url}/aliases"))] == ["greeter"]
    assert ok(requests.get(f"{url}/greeter"))["id"] == first["id"]
    error(requests.post(f"{url}/aliases", json={"alias": "greeter", "actorId": first["id"]}), 400,
          "Alias greeter already exists.")
    moved = ok(requests.put(f"{url}/aliases/greeter", json={"actorId": second["id"]}),
               "Actor alias updated successfully.")
    assert moved["actorId"] == second["id"]
    assert ok(requests.get(f"{server.url}/actors/aliases/greeter"))["actorId"] == second["id"]
    nonce = ok(requests.post(f"{url}/aliases/greeter/nonces", json={"level": "EXECUTE"}),
               "Alias nonce created successfully.")
    assert nonce["alias"] == "greeter"
    assert [n["id"] for n in ok(requests.get(f"{url}/aliases/greeter/nonces"))] == [nonce["id"]]
    assert ok(requests.get(f"{url}/aliases/greeter/nonces/{nonce['id']}"))["id"] == nonce["id"]
    error(requests.post(f"{url}/aliases/greeter/nonces", json={"level": "UPDATE"}), 400,
          "The level attribute must be one of: ('NONE', 'READ', 'EXECUTE')")
    sent = ok(requests.post(f"{url}/greeter/messages?x-nonce={nonce['id']}", json={"message": "via alias"}))
    wait(server, second["id"], sent["executionId"])
    assert ok(requests.delete(f"{url}/aliases/greeter/nonces/{nonce['id']}"),
              "Alias nonce deleted successfully.") is None
    assert ok(requests.delete(f"{url}/aliases/greeter"), "Alias greeter deleted successfully.") is None
    error(requests.get(f"{url}/aliases/greeter"), 404, "greeter")


def test_search_passes_arbitrary_query_parameters(server, url):
    first = add_actor(url, name="alpha", description="first one")
    add_actor(url, name="beta")
    search = f"{server.url}/actors/v2/search"
    result = ok(requests.get(f"{search}/actors?name=alpha"))
    assert [r["id"] for r in result["search"]] == [first["id"]]
    assert result["_metadata"] == {"totalCount": 1, "recordsSkipped": 0, "recordLimit": 100,
                                   "countReturned": 1}
    assert len(ok(requests.get(f"{search}/actors?name.in=[\"alpha\",\"beta\"]&limit=1"))["search"]) == 1
    assert [r["name"] for r in ok(requests.get(f"{search}/actors?search=FIRST"))["search"]] == ["alpha"]
    assert ok(requests.get(f"{server.url}/actors/search/actors?name.like=^b"))["search"][0]["name"] == "beta"
    q = json.dumps({"name": {"$in": ["beta"]}})
    assert [r["name"] for r in ok(requests.get(f"{search}/actors", params={"q": q}))["search"]] == ["beta"]
    sent = ok(requests.post(f"{url}/{first['id']}/messages", json={"message": "m"}))
    wait(server, first["id"], sent["executionId"])
    executions = ok(requests.get(f"{search}/executions?status=COMPLETE"))["search"]
    assert [e["id"] for e in executions] == [sent["executionId"]]
    assert executions[0]["actorId"] == first["id"]


# -- users --------------------------------------------------------------------------------------

def test_open_mode_acts_as_the_default_user(server, url):
    assert not server.emulator.tokens.has_user_tokens
    assert add_actor(url)["owner"] == "testuser"
    headers = {"Authorization": "Bearer whatever-you-like"}
    assert ok(requests.get(url, headers=headers))[0]["owner"] == "testuser"
    assert ok(requests.get(url, headers=server.headers()))[0]["owner"] == "testuser"
    error(requests.get(url, headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401, "Bearer")


@pytest.fixture
def closed():
    tokens = {"alice-token": "alice", "bob-token": "bob:admin", "carol-token": Caller("carol")}
    with serve(runner="local", tokens=tokens) as running:
        running.emulator.register_image("echo:1", echo)
        yield running


def test_with_tokens_credentials_are_required(closed):
    url = closed.url + "/actors/v2"
    assert closed.emulator.tokens.has_user_tokens
    error(requests.get(url), 401, "credentials")
    error(requests.get(url, headers={"Authorization": "Bearer nope"}), 401, "token")
    error(requests.get(url, headers={"Authorization": "Bearer "}), 401, "Bearer")
    alice = {"Authorization": "Bearer alice-token"}
    actor = ok(requests.post(url, json={"image": "echo:1"}, headers=alice), "Actor created successfully.")
    assert actor["owner"] == "alice"
    carol = {"Authorization": "Bearer carol-token"}
    error(requests.get(f"{url}/{actor['id']}", headers=carol), 400, "Not authorized")
    bob = {"Authorization": "bearer bob-token"}  # admin: sees everything
    assert ok(requests.get(f"{url}/{actor['id']}", headers=bob))["owner"] == "alice"
    # .token is accepted and is the default user
    assert ok(requests.post(url, json={"image": "echo:1"}, headers=closed.headers()),
              "Actor created successfully.")["owner"] == "testuser"
    # the document is public
    assert requests.get(url + "/openapi.json").status_code == 200


def test_jwt_headers_are_decoded_without_verifying(closed):
    url = closed.url + "/actors/v2"
    alice = {"X-Jwt-Assertion-DEV-DEVELOP": jwt("alice")}
    actor = ok(requests.post(url, json={"image": "echo:1"}, headers=alice), "Actor created successfully.")
    assert actor["owner"] == "alice"
    lower = {"x-jwt-assertion-dev-develop": jwt("alice", tenant_suffix="")}
    assert ok(requests.get(f"{url}/{actor['id']}", headers=lower))["id"] == actor["id"]
    # the header's suffix names the tenant: alice of another tenant does not see it
    other_tenant = {"X-Jwt-Assertion-SD2E": jwt("alice")}
    error(requests.get(f"{url}/{actor['id']}", headers=other_tenant), 400, f"Actor SD2E_{actor['id']} does not exist")
    stranger = {"X-JWT-Assertion-DEV-DEVELOP": jwt("mallory", ["Internal/everyone"])}
    error(requests.get(f"{url}/{actor['id']}", headers=stranger), 400, "Not authorized")
    admin = {"X-Jwt-Assertion-DEV-DEVELOP": jwt("root", ["Internal/everyone", ADMIN])}
    assert ok(requests.get(f"{url}/{actor['id']}", headers=admin))["id"] == actor["id"]
    error(requests.get(url, headers={"X-Jwt-Assertion-DEV-DEVELOP": "123"}), 401, "JWT", "not a JWT")
    error(requests.get(url, headers={"X-Jwt-Assertion-DEV-DEVELOP": "a.!!!.c"}), 401, "base64url")
    no_user = base64.urlsafe_b64encode(b'{"sub": "x"}').decode().rstrip("=")
    error(requests.get(url, headers={"X-Jwt-Assertion-DEV-DEVELOP": f"h.{no_user}.s"}), 401, "enduser")


def test_x_nonce_redeems_a_nonce_without_credentials(closed):
    url = closed.url + "/actors/v2"
    alice = {"Authorization": "Bearer alice-token"}
    actor = ok(requests.post(url, json={"image": "echo:1"}, headers=alice), "Actor created successfully.")
    nonce = ok(requests.post(f"{url}/{actor['id']}/nonces", json={"level": "READ", "maxUses": 2}, headers=alice),
               "Actor nonce created successfully.")
    assert ok(requests.get(f"{url}/{actor['id']}?x-nonce={nonce['id']}"))["owner"] == "alice"
    assert ok(requests.get(f"{url}/{actor['id']}/nonces/{nonce['id']}", headers=alice))["currentUses"] == 1
    error(requests.post(f"{url}/{actor['id']}/messages?x-nonce={nonce['id']}", json={"message": "m"}), 400,
          "Nonce does not have sufficient permissions level.")
    assert ok(requests.get(f"{url}/{actor['id']}/executions?x-nonce={nonce['id']}"))["owner"] == "alice"
    error(requests.get(f"{url}/{actor['id']}?x-nonce={nonce['id']}"), 400, "No remaining uses left for this nonce.")
    error(requests.get(f"{url}/{actor['id']}?x-nonce=DEV-DEVELOP_nope"), 400, "Nonce does not exist.")
    error(requests.get(f"{url}/{actor['id']}?x-nonce="), 401, "nonce")


def test_tokens_never_reach_the_logs(closed, caplog):
    url = closed.url + "/actors/v2"
    secret_jwt = jwt("alice")
    with caplog.at_level(logging.DEBUG):
        requests.get(url, headers={"Authorization": "Bearer alice-token"})
        message = error(requests.get(url, headers={"Authorization": "Bearer wrong-secret-token"}), 401)
        requests.get(url, headers={"X-Jwt-Assertion-DEV-DEVELOP": secret_jwt})
        requests.get(url, headers={"X-Jwt-Assertion-DEV-DEVELOP": "garbage-secret"})
    assert "wrong-secret-token" not in message
    for secret in ("alice-token", "wrong-secret-token", secret_jwt, "garbage-secret", closed.token):
        assert secret not in caplog.text


# -- the server --------------------------------------------------------------------------------

def test_serve_refuses_a_non_loopback_host():
    with pytest.raises(ValueError, match="allow_remote"):
        serve(runner="local", host="0.0.0.0")
    with pytest.raises(ValueError, match="allow_remote"):
        serve(runner="local", host="192.0.2.1")


def test_serve_an_existing_emulator_leaves_it_open():
    from abaco_emulator import AbacoEmulator
    with AbacoEmulator(runner="local") as emulator:
        emulator.register_image("echo:1", echo)
        with serve(emulator=emulator) as running:
            actor = ok(requests.post(running.url + "/actors/v2", json={"image": "echo:1"}),
                       "Actor created successfully.")
        assert emulator.actors.get(actorId=actor["id"]).id == actor["id"]
        with pytest.raises(requests.ConnectionError):
            requests.get(running.url + "/actors/v2", timeout=2)


def test_many_clients_at_once(server, url):
    actor = add_actor(url)
    errors = []
    executions = []
    lock = threading.Lock()

    def client(number):
        session = requests.Session()
        try:
            for i in range(25):
                kind = i % 5
                if kind == 0:
                    response = session.post(f"{url}/{actor['id']}/messages", json={"message": f"{number}-{i}"})
                    with lock:
                        executions.append(ok(response)["executionId"])
                elif kind == 1:
                    ok(session.get(f"{url}/{actor['id']}"))
                elif kind == 2:
                    ok(session.get(f"{url}/{actor['id']}/executions"))
                elif kind == 3:
                    created = ok(session.post(url, json={"image": "echo:1", "name": f"c{number}-{i}"}),
                                 "Actor created successfully.")
                    ok(session.delete(f"{url}/{created['id']}"), "Actor deleted successfully.")
                else:
                    error(session.get(f"{url}/{actor['id']}/nothing"), 405)
        except Exception as exc:  # collected and reported in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors[:3]
    assert len(executions) == 8 * 5
    server.emulator.drain(30)
    summary = ok(requests.get(f"{url}/{actor['id']}/executions"))
    assert summary["totalExecutions"] == 40
    assert {e["status"] for e in summary["executions"]} == {"COMPLETE"}


def test_a_synchronous_message_with_a_nonce_uses_it_once(server, url):
    server.emulator.register_image("result:1", lambda ctx: b"r")
    actor = add_actor(url, image="result:1")
    nonce = ok(requests.post(f"{url}/{actor['id']}/nonces", json={"level": "EXECUTE", "maxUses": 1}),
               "Actor nonce created successfully.")
    response = requests.post(f"{url}/{actor['id']}/messages?_abaco_synchronous=true&x-nonce={nonce['id']}",
                             json={"message": "m"})
    assert response.status_code == 200 and response.content == b"r"
