"""The real tapipy 25.4.0 against the served emulator's Tapis v3 API (`/v3/actors`).

One scenario calls every operation of the actors spec tapipy ships (30), and checks
that it did; the others show tapipy's own start-up (`Tapis(base_url=...)`,
`get_tokens()`), its traps as the real server answers them, v3 errors, roles from
configuration, and one actor seen through agavepy and tapipy.
"""
from __future__ import annotations

import os

import pytest
import requests
import yaml

tapipy = pytest.importorskip("tapipy", reason="these tests drive the real tapipy client: pip install tapipy")

from tapipy.errors import BadRequestError, NotFoundError  # noqa: E402
from tapipy.tapis import Tapis  # noqa: E402

from abaco_emulator import serve, tapis_client, tapis_token  # noqa: E402

SPEC = os.path.join(os.path.dirname(tapipy.__file__), "resources", "openapi_v3-actors.yml")
SPEC_OPERATIONS = sorted(op["operationId"] for path in yaml.safe_load(open(SPEC, encoding="utf-8"))["paths"].values()
                         for method, op in path.items() if method != "parameters")


def handler(ctx):
    """Logs what the execution received and sends one result."""
    print("msg", ctx["raw_message"], "type", ctx["content_type"], "binary", ctx["binary"])
    ctx.send_result(b"result-1")
    return None


@pytest.fixture
def server():
    with serve(runner="local", user_roles={"boss": ["abaco_admin"]}) as served:
        served.emulator.register_image("test/echo", handler)
        yield served


class Called:
    """The operation ids a tapipy client called (a pre-request plugin callable, as tapipy offers)."""

    def __init__(self, *clients: Tapis) -> None:
        self.ids: set[str] = set()
        for client in clients:
            client.plugin_on_call_pre_request_callables.append(self.record)

    def record(self, operation, request, **kwargs) -> None:
        if operation.resource_name == "actors":
            self.ids.add(operation.operation_id)


def wait(server, actor_id: str, execution_id: str) -> None:
    server.emulator.engine.wait_for(execution_id, 30)


def test_the_spec_has_thirty_operations():
    assert len(SPEC_OPERATIONS) == 30


def test_tapipy_drives_every_operation_of_its_actors_spec(server):
    t = tapis_client(server.url)
    boss = tapis_client(server.url, "boss")
    called = Called(t, boss)
    actors = t.actors

    assert actors.list_actors() == []
    # create_actor sends only NewActor's fields: `name` is dropped by tapipy itself.
    actor = actors.create_actor(image="test/echo", stateless=False, default_environment={"K": "v"}, name="dropped")
    aid = actor.id
    assert actor.owner == "testuser" and actor.stateless is False and actor.default_environment.K == "v"
    assert actor.get("name") is None and actor.run_as_executor is False
    assert actor._links.owner == f"{server.url}/v3/oauth2/profiles/testuser"
    assert actors.get_actor(actor_id=aid).image == "test/echo"
    assert [a.id for a in actors.list_actors()] == [aid]
    updated = actors.update_actor(actor_id=aid, image="test/echo", stateless=False, description="second")
    assert updated.description == "second" and updated.revision == 1
    assert actors.get_messages(actor_id=aid).messages == 0

    sent = actors.send_message(actor_id=aid, message="hello")
    assert sent.msg == "hello"
    binary = actors.send_binary_message(actor_id=aid, message=b"\x00\x01")  # posts to /v3/actors/{id}//messages
    assert binary.msg == "binary - omitted"
    as_json = actors.send_json_message(actor_id=aid, message={"a": 1})  # ...///messages, {"message": {...}}
    assert as_json.msg == "{'a': 1}"  # the Python repr: Abaco reads `message` with type=str
    for execution_id in (sent.execution_id, binary.execution_id, as_json.execution_id):
        wait(server, aid, execution_id)

    summary = actors.list_executions(actor_id=aid)
    assert summary.total_executions == 3 and summary.actor_id == aid
    execution = actors.get_execution(actor_id=aid, execution_id=as_json.execution_id)
    assert execution.status == "COMPLETE" and execution.executor == "testuser"
    logs = actors.get_execution_logs(actor_id=aid, execution_id=as_json.execution_id)
    assert "msg {'a': 1} type str" in logs.logs
    assert actors.get_execution_result(actor_id=aid, execution_id=sent.execution_id) == b"result-1"

    assert actors.list_nonces(actor_id=aid) == []
    nonce = actors.create_nonce(actor_id=aid, level="EXECUTE", max_uses=3)
    assert nonce.level == "EXECUTE" and nonce.max_uses == 3 and nonce.remaining_uses == 3
    assert actors.get_nonce(actor_id=aid, nonce_id=nonce.id).id == nonce.id
    # an answer whose result is null comes back from tapipy as the whole envelope
    assert actors.delete_nonce(actor_id=aid, nonce_id=nonce.id)["message"] == "Actor nonce deleted successfully."

    assert vars(actors.get_state(actor_id=aid).state) == {}  # tapipy makes every object a TapisResult
    assert actors.update_state(actor_id=aid, request_body={"count": 1}).state.count == 1
    assert vars(actors.get_state(actor_id=aid).state) == {"count": 1}

    assert actors.list_permissions(actor_id=aid).testuser == "UPDATE"
    assert actors.update_permissions(actor_id=aid, user="bob", level="READ").bob == "READ"

    assert [w.status for w in actors.list_workers(actor_id=aid)]
    assert boss.actors.manage_worker_pool_size(actor_id=aid, num=2)["status"] == "success"
    assert len(actors.list_workers(actor_id=aid)) >= 2

    assert actors.list_aliases() == []
    alias = actors.create_alias(alias="echo", actor_id=aid)
    assert alias.alias == "echo" and alias._links.actor == f"{server.url}/v3/actors/{aid}"
    assert actors.get_alias(alias="echo").actor_id == aid
    other = actors.create_actor(image="test/echo")
    assert actors.update_actor_alias(alias="echo", actor_id=other.id).actor_id == other.id
    assert [a.alias for a in actors.list_aliases()] == ["echo"]
    assert actors.delete_alias(alias="echo")["message"] == "Alias echo deleted successfully."

    found = actors.search_database(search_type="actors", search="second")
    assert [a.id for a in found.search] == [aid] and found._metadata.total_count == 1

    assert actors.delete_pending_messages(actor_id=aid).msg
    assert actors.delete_actor(actor_id=aid)["message"] == "Actor deleted successfully."
    with pytest.raises(BadRequestError) as gone:
        actors.get_actor(actor_id=aid)
    assert gone.value.message == f"Actor DEV-DEVELOP_{aid} does not exist"
    assert sorted(called.ids) == SPEC_OPERATIONS


def test_tapis_finds_its_tenant_from_the_base_url_and_gets_tokens_with_a_password(server):
    t = Tapis(base_url=server.url, username="alice", password="any password")
    assert t.tenant_id == "dev"
    t.get_tokens()
    assert t.access_token.claims["tapis/username"] == "alice"
    created = t.actors.create_actor(image="test/echo")
    assert created.owner == "alice"


def test_the_tapis_envelope_and_snake_case_over_plain_http(server):
    headers = {"X-Tapis-Token": tapis_token("testuser")}
    created = requests.post(server.url + "/v3/actors", json={"image": "test/echo", "defaultEnvironment": {"a": 1},
                                                             "default_environment": {"b": 2}}, headers=headers)
    assert created.status_code == 200, created.text
    body = created.json()
    assert set(body) == {"result", "status", "message", "version", "metadata"} and body["metadata"] == {}
    assert body["message"] == "Actor created successfully."
    # snake_case in: the camelCase field is unknown to a snake server and ignored
    assert body["result"]["default_environment"] == {"b": 2}
    assert body["result"]["_links"]["self"] == f"{server.url}/v3/actors/{body['result']['id']}"


def test_list_actors_with_paging_arguments_is_a_search_as_on_the_real_server(server):
    t = tapis_client(server.url)
    for _ in range(3):
        t.actors.create_actor(image="test/echo")
    # tapipy's limit/offset reach a server that treats any query parameter as a search
    answer = t.actors.list_actors(limit=2)
    assert len(answer.search) == 2 and answer._metadata.total_count == 3


def test_v3_errors_carry_the_tapis_envelope_and_abacos_messages(server):
    t = tapis_client(server.url)
    with pytest.raises(NotFoundError) as missing:
        t.actors.get_actor(actor_id="nope")
    assert missing.value.message == "Actor with identifier 'nope' not found"
    with pytest.raises(BadRequestError) as bad:
        t.actors.create_actor(image="test/echo", cron_schedule="2099-06-21 14 + 6 fortnights", cron_on=True)
    assert "fortnights" in str(bad.value.message)
    unreadable = requests.get(server.url + "/v3/actors", headers={"X-Tapis-Token": "not a jwt"})
    assert unreadable.status_code == 400
    assert unreadable.json() == {"result": None, "status": "error", "metadata": {}, "version": "1.7.0",
                                 "message": "Could not parse the Tapis access token."}
    elsewhere = requests.get(server.url + "/v3/unknown")
    assert elsewhere.status_code == 404 and "not an Abaco endpoint" in elsewhere.json()["message"]


def test_run_as_executor_is_refused_as_on_a_tenant_without_tas(server):
    headers = {"X-Tapis-Token": tapis_token("testuser")}
    both = requests.post(server.url + "/v3/actors", json={"image": "x", "run_as_executor": True,
                                                          "use_container_uid": True}, headers=headers)
    assert both.status_code == 400
    assert both.json()["message"] == "Cannot set both use_container_uid and run_as_executor as true"
    alone = requests.post(server.url + "/v3/actors", json={"image": "x", "run_as_executor": "true"}, headers=headers)
    assert (alone.status_code, alone.json()["message"]) == (400, "run_as_executor isn't supported for your tenant")


def test_configured_roles_and_token_roles_are_honoured_in_both_dialects(server):
    t = tapis_client(server.url)
    aid = t.actors.create_actor(image="test/echo").id
    # a regular user may not grow the worker pool; `boss` has abaco_admin from configuration
    with pytest.raises(BadRequestError):
        t.actors.manage_worker_pool_size(actor_id=aid, num=2)
    assert tapis_client(server.url, "boss").actors.get_actor(actor_id=aid).id == aid
    assert tapis_client(server.url, "carol", roles=["abaco_admin"]).actors.get_actor(actor_id=aid).id == aid
    v2 = requests.get(f"{server.url}/actors/v2/{aid}", headers={"Authorization": "Bearer anything"})
    assert v2.status_code == 200
    boss_in_v2 = server.emulator.as_user("boss")
    assert boss_in_v2.actors.get(actorId=aid).id == aid  # an admin reads any actor


def test_one_actor_is_seen_through_agavepy_and_tapipy(server):
    pytest.importorskip("agavepy")
    from abaco_emulator import agave_client

    ag = agave_client(server.url, server.token)
    registered = ag.actors.add(body={"image": "test/echo", "name": "both", "defaultEnvironment": {"X": "1"}})
    t = tapis_client(server.url)
    seen = t.actors.get_actor(actor_id=registered.id)
    assert (seen.name, seen.owner, seen.default_environment.X) == ("both", "testuser", "1")
    sent = t.actors.send_message(actor_id=registered.id, message="from tapipy")
    wait(server, registered.id, sent.execution_id)
    assert ag.actors.getExecution(actorId=registered.id, executionId=sent.execution_id).status == "COMPLETE"
    assert "from tapipy" in ag.actors.getExecutionLogs(actorId=registered.id, executionId=sent.execution_id).logs


def test_the_tapis_fixture_is_a_tapipy_client_of_abaco_server(pytester):
    pytester.makepyfile("""
        def test_it(tapis, abaco_server):
            assert type(tapis).__name__ == "Tapis"
            assert tapis.base_url == abaco_server.url and tapis.actors.list_actors() == []
    """)
    pytester.runpytest("-p", "no:cacheprovider", "--abaco-runner", "local").assert_outcomes(passed=1)


def test_an_actor_using_tapipy_calls_back_with_its_owners_rights(server):
    """As a container would: `Tapis(base_url=_abaco_api_server, access_token=_abaco_access_token)`."""
    tokens = []

    def uses_tapipy(ctx):
        tokens.append(ctx["_abaco_access_token"])
        t = Tapis(base_url=ctx["_abaco_api_server"], tenant_id="dev", access_token=ctx["_abaco_access_token"])
        t.actors.update_state(actor_id=ctx["_abaco_actor_id"], request_body={"seen": ctx["raw_message"]})
        print("me", t.actors.get_actor(actor_id=ctx["_abaco_actor_id"]).owner)

    server.emulator.register_image("test/tapipy", uses_tapipy)
    t = tapis_client(server.url, "alice")
    actor = t.actors.create_actor(image="test/tapipy", stateless=False)
    sent = t.actors.send_message(actor_id=actor.id, message="hi")
    wait(server, actor.id, sent.execution_id)
    execution = t.actors.get_execution(actor_id=actor.id, execution_id=sent.execution_id)
    logs = t.actors.get_execution_logs(actor_id=actor.id, execution_id=sent.execution_id).logs
    assert (execution.status, logs) == ("COMPLETE", "me alice\n")
    assert t.actors.get_state(actor_id=actor.id).state.seen == "hi"
    ended = requests.get(f"{server.url}/v3/actors/{actor.id}", headers={"X-Tapis-Token": tokens[0]})
    assert ended.status_code == 400 and "execution that has ended" in ended.json()["message"]


def test_configured_passwords_restrict_the_password_grant():
    from tapipy.errors import UnauthorizedError

    with serve(runner="local", tapis_passwords={"alice": "secret"}) as served:
        good = Tapis(base_url=served.url, username="alice", password="secret")
        good.get_tokens()
        assert good.access_token.claims["tapis/username"] == "alice"
        with pytest.raises(UnauthorizedError) as wrong:
            Tapis(base_url=served.url, username="alice", password="guess").get_tokens()
        assert wrong.value.message == "Invalid username/password combination."
        with pytest.raises(UnauthorizedError):
            Tapis(base_url=served.url, username="mallory", password="secret").get_tokens()
