"""Rules of the real Abaco's wire that curl users and Abaco's own docs rely on: form bodies,
CORS, repeated slashes, nonce and admin shapes, cron checks, alias permissions, tenants."""
from __future__ import annotations

import pytest
import requests
from hashids import Hashids

from abaco_emulator.server import serve

from abaco_checks import ID, echo, jwt

ADMIN = "Internal/abaco-admin"


@pytest.fixture
def admin_server():
    with serve(runner="local", roles=[ADMIN]) as running:
        running.emulator.register_image("echo:1", echo)
        yield running


def result(response, status=200):
    assert response.status_code == status, response.text
    return response.json()["result"] if status == 200 else response.json()["message"]


def test_form_bodies_are_typed_as_reqparse_types_them(admin_server):
    url = admin_server.url + "/actors/v2"
    actor = result(requests.post(url, data={"image": "echo:1", "stateless": "False", "token": "TRUE",
                                            "hints": ["a", "b"], "not-a-field": "ignored"}))
    assert actor["stateless"] is False and actor["token"] is True and actor["hints"] == ["a", "b"]
    assert "not-a-field" not in actor and "notAField" not in actor
    assert "stateless" in result(requests.post(url, data={"image": "echo:1", "stateless": "perhaps"}), 400)
    assert "maxWorkers" in result(requests.post(url, data={"image": "echo:1", "maxWorkers": "two"}), 400)
    stateless = result(requests.post(url, data={"image": "echo:1", "maxWorkers": "3"}))
    assert stateless["maxWorkers"] == 3
    # JSON keeps strict types: the string "False" is not a boolean there
    assert result(requests.post(url, json={"image": "echo:1", "stateless": "False"}), 400) == \
        "Invalid actor description: {'stateless': 'Whether the actor stores private state.'} " \
        "(field 'stateless' must be a boolean (true or false), not 'False')."
    assert result(requests.post(url, json={"image": "echo:1", "useContainerUid": "x"}), 400).startswith(
        "Invalid actor description: {'useContainerUid': ")
    nonce = result(requests.post(f"{url}/{actor['id']}/nonces", data={"level": "READ", "maxUses": "2"}))
    assert nonce["maxUses"] == 2 and nonce["remainingUses"] == 2


def test_stateful_actor_refuses_any_max_workers_as_abaco_does(admin_server):
    url = admin_server.url + "/actors/v2"
    assert result(requests.post(url, data={"image": "echo:1", "stateless": "false", "maxWorkers": "1"}), 400) == \
        "Invalid actor description: stateful actors can only have 1 worker."


def test_nonce_shows_api_server_and_unset_times_as_none(admin_server):
    url = admin_server.url + "/actors/v2"
    actor = result(requests.post(url, json={"image": "echo:1"}))
    nonce = result(requests.post(f"{url}/{actor['id']}/nonces", json={"level": "READ"}))
    assert nonce["apiServer"] == admin_server.url
    assert nonce["lastUseTime"] == "None" and nonce["id"].startswith("DEV-DEVELOP_")


def test_cors_echoes_the_origin_and_answers_preflights_without_credentials():
    with serve(runner="local", tokens={"secret": "alice"}) as closed:
        url = closed.url + "/actors/v2"
        answer = requests.get(url, headers={"Origin": "http://localhost:3000"})
        assert answer.status_code == 401  # errors carry the header too
        assert answer.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
        assert "Origin" in answer.headers["Vary"]
        preflight = requests.options(url, headers={"Origin": "http://localhost:3000",
                                                   "Access-Control-Request-Method": "POST",
                                                   "Access-Control-Request-Headers": "Authorization"})
        assert preflight.status_code == 200
        assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
        assert preflight.headers["Access-Control-Allow-Headers"] == "Authorization"
        assert requests.get(url).headers["Access-Control-Allow-Origin"] == "*"  # as CORS(app) answers


def test_repeated_slashes_are_one(admin_server):
    actor = result(requests.post(admin_server.url + "/actors/v2", json={"image": "echo:1"}))
    assert result(requests.get(f"{admin_server.url}//actors//v2///{actor['id']}"))["id"] == actor["id"]


def test_actor_ids_are_hashids_of_abaco_salt(admin_server):
    actor = result(requests.post(admin_server.url + "/actors/v2", json={"image": "echo:1"}))
    assert ID.match(actor["id"])
    decoded = Hashids(salt="eJa5wZlEX4eWU").decode(actor["id"])
    assert len(decoded) == 1 and decoded[0] > 0


def test_cron_schedules_are_checked_with_abacos_messages(admin_server):
    url = admin_server.url + "/actors/v2"
    assert "The starting datetime is old" in result(
        requests.post(url, json={"image": "echo:1", "cronSchedule": "2020-01-01 01 + 1 hour"}), 400)
    assert result(requests.post(url, json={"image": "echo:1", "cronSchedule": "now + 1 fortnight"}), 400)
    actor = result(requests.post(url, json={"image": "echo:1", "cronSchedule": "now + 1 hour", "cronOn": True}))
    assert actor["cronSchedule"] == "now + 1 hour" and actor["cronOn"] is True


def test_admin_routes_and_utilization(admin_server):
    base = admin_server.url + "/actors/v2"
    actor = result(requests.post(base, json={"image": "echo:1"}))
    assert result(requests.get(base + "/utilization"))["currentActors"] == 1
    listed = result(requests.get(base + "/admin"))
    assert [a["id"] for a in listed] == [actor["id"]] and listed[0]["dbId"] == f"DEV-DEVELOP_{actor['id']}"
    workers = result(requests.get(base + "/admin/workers"))
    assert workers["summary"]["totalWorkers"] == len(workers["workers"]) >= 1
    # a user who is not an admin is refused
    user = {"X-Jwt-Assertion-DEV-DEVELOP": jwt("someone")}
    assert requests.get(base + "/admin", headers=user).status_code in (400, 401, 403)


def test_post_executions_needs_every_accounting_field(admin_server):
    base = admin_server.url + "/actors/v2"
    actor = result(requests.post(base, json={"image": "echo:1"}))
    assert "cpu" in result(requests.post(f"{base}/{actor['id']}/executions", json={"runtime": 1}), 400)


def test_alias_permissions_are_their_own(admin_server):
    base = admin_server.url + "/actors/v2"
    actor = result(requests.post(base, json={"image": "echo:1"}))
    result(requests.post(base + "/aliases", data={"alias": "shared", "actorId": actor["id"]}))
    assert result(requests.get(base + "/aliases/shared/permissions")) == {"testuser": "UPDATE"}
    granted = result(requests.post(base + "/aliases/shared/permissions", data={"user": "bob", "level": "READ"}))
    assert granted == {"testuser": "UPDATE", "bob": "READ"}
    assert result(requests.get(f"{base}/{actor['id']}/permissions")) == {"testuser": "UPDATE"}


def test_a_tenant_never_sees_another_tenants_actors(admin_server):
    base = admin_server.url + "/actors/v2"
    tacc = {"X-Jwt-Assertion-TACC": jwt("alice")}
    sd2e = {"X-Jwt-Assertion-SD2E": jwt("alice")}
    actor = result(requests.post(base, json={"image": "echo:1"}, headers=tacc))
    assert [a["id"] for a in result(requests.get(base, headers=tacc))] == [actor["id"]]
    assert result(requests.get(base, headers=sd2e)) == []
    assert "does not exist" in result(requests.get(f"{base}/{actor['id']}", headers=sd2e), 400)
    assert result(requests.get(base + "/search/actors", headers=sd2e))["search"] == []
