"""The Tapis v3 routes over plain HTTP: its credentials, envelope, case switch and errors.

What tapipy cannot send (missing or malformed tokens, service tokens, nonces, camel
bodies) is sent here with requests; every answer is the Tapis envelope, none a 500.
"""
from __future__ import annotations

import base64
import json

import pytest
import requests

from abaco_emulator import serve, tapis_token

from abaco_checks import echo

TAPIS_KEYS = {"result", "status", "message", "version", "metadata"}


def unsigned(claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2ln"


def refused(answer: requests.Response, status: int) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == TAPIS_KEYS and body["status"] == "error" and body["result"] is None
    return body["message"]


@pytest.fixture
def server():
    with serve(runner="local", tokens={"known-token": "testuser"}) as served:
        served.emulator.register_image("echo:1", echo)
        yield served


@pytest.fixture
def headers():
    return {"X-Tapis-Token": tapis_token("testuser")}


@pytest.fixture
def actor(server, headers):
    return requests.post(server.url + "/v3/actors", json={"image": "echo:1"}, headers=headers).json()["result"]


def test_a_closed_server_needs_a_token_or_a_nonce(server):
    assert refused(requests.get(server.url + "/v3/actors"), 400) == "No JWT or nonce provided."


def test_unreadable_tokens_get_the_tapis_messages(server):
    url = server.url + "/v3/actors"
    assert refused(requests.get(url, headers={"X-Tapis-Token": ""}), 400) == \
        "No Tapis access token found in the request."
    assert refused(requests.get(url, headers={"X-Tapis-Token": "a.b"}), 400) == \
        "Could not parse the Tapis access token."
    no_tenant = unsigned({"tapis/username": "u", "exp": 1})
    assert "could not parse the tenant_id" in refused(requests.get(url, headers={"X-Tapis-Token": no_tenant}), 400)
    no_user = unsigned({"tapis/tenant_id": "dev"})
    assert "tapis/username" in refused(requests.get(url, headers={"X-Tapis-Token": no_user}), 400)


def test_exp_is_read_but_not_enforced(server):
    expired = unsigned({"tapis/username": "old", "tapis/tenant_id": "dev", "exp": 1})
    assert requests.get(server.url + "/v3/actors", headers={"X-Tapis-Token": expired}).status_code == 200
    bad = unsigned({"tapis/username": "old", "tapis/tenant_id": "dev", "exp": "soon"})
    assert "exp" in refused(requests.get(server.url + "/v3/actors", headers={"X-Tapis-Token": bad}), 400)


def test_a_registered_token_is_accepted_as_a_tapis_token(server, actor):
    answer = requests.get(f"{server.url}/v3/actors/{actor['id']}", headers={"X-Tapis-Token": "known-token"})
    assert answer.status_code == 200 and answer.json()["result"]["owner"] == "testuser"


def test_a_service_token_acts_on_behalf_of_its_obo_headers(server, actor):
    service = {"X-Tapis-Token": tapis_token("abaco", "admin", account_type="service")}
    assert "X-Tapis-User" in refused(requests.get(server.url + "/v3/actors", headers=service), 400)
    obo = {**service, "X-Tapis-User": "testuser", "X-Tapis-Tenant": "dev"}
    assert [a["id"] for a in requests.get(server.url + "/v3/actors", headers=obo).json()["result"]] == [actor["id"]]
    user_with_obo = {"X-Tapis-Token": tapis_token("testuser"), "X-Tapis-User": "someone"}
    assert refused(requests.get(server.url + "/v3/actors", headers=user_with_obo), 400) == \
        "Invalid request; cannot set OBO headers with a user token."


def test_a_nonce_works_without_a_token_and_shows_v3_role_names(server, headers, actor):
    admin = {"X-Tapis-Token": tapis_token("boss", roles=["abaco_admin"])}
    nonce = requests.post(f"{server.url}/v3/actors/{actor['id']}/nonces", json={"level": "READ"}, headers=admin)
    assert nonce.status_code == 200, nonce.text
    assert nonce.json()["result"]["roles"] == ["abaco_admin"]
    nonce_id = nonce.json()["result"]["id"]
    read = requests.get(f"{server.url}/v3/actors/{actor['id']}", params={"x-nonce": nonce_id})
    assert read.status_code == 200 and read.json()["result"]["id"] == actor["id"]


def test_other_tenants_never_see_the_default_tenants_actors(server, actor):
    tacc = {"X-Tapis-Token": tapis_token("testuser", "tacc")}
    assert requests.get(server.url + "/v3/actors", headers=tacc).json()["result"] == []
    assert "does not exist" in refused(requests.get(f"{server.url}/v3/actors/{actor['id']}", headers=tacc), 400)


def test_repeated_slashes_are_one_and_wrong_methods_are_405_envelopes(server, headers, actor):
    sent = requests.post(f"{server.url}/v3//actors/{actor['id']}///messages", json={"message": "x"}, headers=headers)
    assert sent.status_code == 200 and sent.json()["result"]["execution_id"]
    assert "not allowed" in refused(requests.delete(server.url + "/v3/actors/aliases", headers=headers), 405)


def test_no_input_gets_a_500(server, headers, actor):
    url = server.url + "/v3/actors"
    for body in ({"image": 3}, {"image": "x", "run_as_executor": "maybe"}, {"image": "x", "cron_on": "x"},
                 {"image": "x", "cron_schedule": "2099-01-01 00 + 1 eon", "cron_on": True}, [1, 2], "text"):
        assert refused(requests.post(url, json=body, headers=headers), 400)
    assert refused(requests.post(url, data=b"\xff\xfe", headers={**headers, "Content-Type": "application/json"}), 400)
    assert refused(requests.post(url, data={"image": "x", "run_as_executor": "1"}, headers=headers), 400) == \
        "run_as_executor isn't supported for your tenant"


@pytest.mark.parametrize("field, value, help_text", [
    ("use_container_uid", "abcd", "Whether this actor runs as the UID set in the container image."),
    ("default_environment", "abcd", "A dictionary of default environmental variables and values."),
    ("stateless", 7, "Whether the actor stores private state."),
])
def test_a_json_field_of_the_wrong_type_is_named_as_reqparse_names_it(server, headers, field, value, help_text):
    """Abaco v3 reads snake_case bodies: its error names the field so, in reqparse's words."""
    message = refused(requests.post(server.url + "/v3/actors", json={"image": "x:1", field: value},
                                    headers=headers), 400)
    assert message.startswith(f"Invalid actor description: {{'{field}': '{help_text}'}} (field '{field}' must be ")


def test_the_camel_switch_reads_and_shows_camel_case():
    with serve(runner="local", v3_case="camel") as served:
        headers = {"X-Tapis-Token": tapis_token("testuser")}
        created = requests.post(served.url + "/v3/actors", headers=headers,
                                json={"image": "x:1", "defaultEnvironment": {"A": "1"}, "useContainerUid": True,
                                      "runAsExecutor": True})
        assert refused(created, 400) == "Cannot set both useContainerUid and runAsExecutor as true"
        created = requests.post(served.url + "/v3/actors", headers=headers,
                                json={"image": "x:1", "defaultEnvironment": {"A": "1"}})
        assert created.json()["result"]["defaultEnvironment"] == {"A": "1"}
        assert created.json()["result"]["runAsExecutor"] is False
