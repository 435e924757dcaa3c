"""Tenants are walls (issue 15, point 3): with the same user names in two tenants, nothing a
user of tenant B sends (its own token, an admin's, tenant A's ids, A's nonce, A's alias
name, a config or a link naming A's actor, a search) reads, runs or changes a record of
tenant A. Abaco scopes every record by tenant (ABACO_REFERENCE.md §7): another tenant's
ids are unknown, never forbidden. Every answer is below 500 and an envelope.

Not covered here, as Abaco's own rule: the admin routes (`/admin...`) and `/utilization`
count every tenant (§14).
"""
from __future__ import annotations

from typing import Any

import pytest
import requests

from abaco_emulator import tapis_token
from abaco_emulator.server import serve

from abaco_checks import echo, jwt

IMAGE = "walls/echo:1"
ADMIN = "Internal/abaco-admin"
A = {"X-Jwt-Assertion-TACC": jwt("alice")}
B_USERS = {
    "alice@SD2E": {"X-Jwt-Assertion-SD2E": jwt("alice")},
    "admin@SD2E": {"X-Jwt-Assertion-SD2E": jwt("alice", roles=(ADMIN,))},
}


def call(server, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
    """One request; every answer is below 500 and an envelope (results: raw bytes when 200)."""
    response = requests.request(method, server.url + path, headers=headers or {}, timeout=30, **kwargs)
    assert response.status_code < 500, (method, path, response.text)
    if not (response.status_code == 200 and path.endswith("/results")):
        body = response.json()
        assert body["status"] in ("success", "error") and "message" in body, (method, path, body)
    return response


@pytest.fixture(scope="module")
def walls():
    """Tenant A (TACC): alice's actor with the alias `shared`, an execution, a nonce and a
    config. Tenant B (SD2E): another alice with her own actor, and her own alias `shared`."""
    with serve(runner="local") as server:
        server.emulator.register_image(IMAGE, echo)
        api = "/actors/v2"
        a_actor = call(server, "POST", api, A, json={"image": IMAGE, "stateless": False}).json()["result"]["id"]
        call(server, "POST", f"{api}/{a_actor}/state", A, json={"secret": "of-A"})
        call(server, "POST", f"{api}/aliases", A, json={"alias": "shared", "actorId": a_actor})
        call(server, "POST", f"{api}/aliases", A, json={"alias": "only-a", "actorId": a_actor})
        sent = call(server, "POST", f"{api}/{a_actor}/messages", A, json={"message": "a"}).json()["result"]
        server.emulator.engine.wait_for(sent["executionId"], 10)
        nonce = call(server, "POST", f"{api}/{a_actor}/nonces", A, json={"level": "UPDATE"}).json()["result"]["id"]
        call(server, "POST", f"{api}/configs", A,
             json={"name": "a-config", "value": "of-A", "isSecret": False, "actors": a_actor})
        b_actor = call(server, "POST", api, B_USERS["alice@SD2E"], json={"image": IMAGE}).json()["result"]["id"]
        shared_b = call(server, "POST", f"{api}/aliases", B_USERS["alice@SD2E"],
                        json={"alias": "shared", "actorId": b_actor})
        assert shared_b.status_code == 200, "the same alias name in another tenant is its own alias"
        yield {"server": server, "a_actor": a_actor, "b_actor": b_actor, "execution": sent["executionId"],
               "nonce": nonce, "worker": call(server, "GET", f"{api}/{a_actor}/workers", A).json()["result"][0]["id"]}


def snapshot(walls) -> dict[str, Any]:
    """What tenant A sees of its records."""
    server, actor = walls["server"], walls["a_actor"]
    api = "/actors/v2"
    return {
        "actor": call(server, "GET", f"{api}/{actor}", A).json()["result"],
        "state": call(server, "GET", f"{api}/{actor}/state", A).json()["result"],
        "permissions": call(server, "GET", f"{api}/{actor}/permissions", A).json()["result"],
        "executions": call(server, "GET", f"{api}/{actor}/executions", A).json()["result"]["executions"],
        "messages": call(server, "GET", f"{api}/{actor}/messages", A).json()["result"],
        "aliases": sorted((a["alias"], a["actorId"])
                          for a in call(server, "GET", f"{api}/aliases", A).json()["result"]),
        "nonces": call(server, "GET", f"{api}/{actor}/nonces", A).json()["result"],
        "config": call(server, "GET", f"{api}/configs/a-config", A).json()["result"],
        "workers": [w["id"] for w in call(server, "GET", f"{api}/{actor}/workers", A).json()["result"]],
    }


def a_routes(walls) -> list[tuple[str, str, Any]]:
    """Every route of one actor, naming tenant A's actor by its id, its execution, worker and nonce."""
    actor, execution, worker, nonce = walls["a_actor"], walls["execution"], walls["worker"], walls["nonce"]
    base = f"/actors/v2/{actor}"
    return [
        ("GET", base, None), ("PUT", base, {"image": IMAGE, "stateless": False}), ("DELETE", base, None),
        ("GET", f"{base}/messages", None), ("POST", f"{base}/messages", {"message": "from B"}),
        ("DELETE", f"{base}/messages", None), ("GET", f"{base}/state", None), ("POST", f"{base}/state", {"b": 1}),
        ("GET", f"{base}/permissions", None), ("POST", f"{base}/permissions", {"user": "alice", "level": "UPDATE"}),
        ("GET", f"{base}/workers", None), ("POST", f"{base}/workers", {"num": 2}),
        ("GET", f"{base}/workers/{worker}", None), ("DELETE", f"{base}/workers/{worker}", None),
        ("GET", f"{base}/nonces", None), ("POST", f"{base}/nonces", {"level": "READ"}),
        ("GET", f"{base}/nonces/{nonce}", None), ("DELETE", f"{base}/nonces/{nonce}", None),
        ("GET", f"{base}/executions", None), ("POST", f"{base}/executions", {"runtime": 1, "cpu": 1, "io": 1}),
        ("GET", f"{base}/executions/{execution}", None), ("DELETE", f"{base}/executions/{execution}", None),
        ("GET", f"{base}/executions/{execution}/logs", None), ("GET", f"{base}/executions/{execution}/results", None),
        ("GET", f"/emulator/v1/actors/{actor}/executions/{execution}/logs", None),
        ("GET", "/actors/v2/only-a", None), ("POST", "/actors/v2/only-a/messages", {"message": "from B"}),
        ("GET", "/actors/v2/aliases/only-a", None), ("DELETE", "/actors/v2/aliases/only-a", None),
        ("GET", "/actors/v2/aliases/only-a/permissions", None), ("GET", "/actors/v2/aliases/only-a/nonces", None),
        ("GET", "/actors/v2/configs/a-config", None), ("DELETE", "/actors/v2/configs/a-config", None),
        ("PUT", "/actors/v2/configs/a-config", {"name": "a-config", "value": "B", "isSecret": False, "actors": ""}),
        ("POST", "/actors/v2/configs/a-config/permissions", {"user": "alice", "level": "UPDATE"}),
    ]


@pytest.mark.parametrize("who", sorted(B_USERS))
def test_no_route_of_tenant_b_reaches_tenant_a(walls, who):
    """Knowing A's ids and names, B's alice (and B's admin) gets no 200 anywhere, and A's
    records are as they were."""
    server, headers = walls["server"], B_USERS[who]
    before = snapshot(walls)
    reached = []
    for method, path, body in a_routes(walls):
        response = call(server, method, path, headers, json=body)
        if response.status_code == 200:
            reached.append(f"{method} {path}: {response.text[:100]}")
    assert not reached, "\n".join(reached)
    assert snapshot(walls) == before


@pytest.mark.parametrize("who", sorted(B_USERS))
def test_listings_searches_and_aliases_of_tenant_b_show_nothing_of_tenant_a(walls, who):
    server, headers, a_actor = walls["server"], B_USERS[who], walls["a_actor"]
    texts = []
    for path, params in [("/actors/v2", {}), ("/actors/v2", {"id": a_actor}), ("/actors/v2/aliases", {}),
                         ("/actors/v2/configs", {}), ("/actors/v2/search/actors", {}),
                         ("/actors/v2/search/executions", {}), ("/actors/v2/search/workers", {}),
                         ("/actors/v2/search/logs", {}), ("/actors/v2/search/actors", {"search": a_actor}),
                         (f"/actors/v2/{walls['b_actor']}/executions", {"id": walls["execution"]})]:
        response = call(server, "GET", path, headers, params=params)
        assert response.status_code == 200, (path, response.text)
        texts.append(response.text)
    for text in texts:
        assert a_actor not in text and walls["execution"] not in text and "a-config" not in text
    shared = call(server, "GET", "/actors/v2/aliases/shared", headers).json()["result"]
    assert shared["actorId"] == walls["b_actor"], "B's alias `shared` is B's, not A's"
    assert call(server, "GET", "/actors/v2/aliases/shared", A).json()["result"]["actorId"] == a_actor


@pytest.mark.parametrize("who", sorted(B_USERS))
def test_tenant_b_cannot_point_anything_at_tenant_as_actor(walls, who):
    """An alias, a re-pointed alias, a config and an event link naming A's actor id are all refused."""
    server, headers, a_actor = walls["server"], B_USERS[who], walls["a_actor"]
    before = snapshot(walls)
    attempts = [
        ("POST", "/actors/v2/aliases", {"alias": f"grab-{who[:5]}", "actorId": a_actor}),
        ("PUT", "/actors/v2/aliases/shared", {"actorId": a_actor}),
        ("POST", "/actors/v2/configs", {"name": f"grab-{who[:5]}", "value": "v", "isSecret": False,
                                        "actors": a_actor}),
        ("POST", "/actors/v2", {"image": IMAGE, "link": a_actor}),
        ("POST", "/actors/v2", {"image": IMAGE, "link": "only-a"}),
        ("PUT", f"/actors/v2/{walls['b_actor']}", {"image": IMAGE, "link": a_actor}),
    ]
    for method, path, body in attempts:
        response = call(server, method, path, headers, json=body)
        assert response.status_code in (400, 404), (method, path, body, response.text)
    assert call(server, "GET", "/actors/v2/aliases/shared", headers).json()["result"]["actorId"] == walls["b_actor"]
    assert snapshot(walls) == before


def test_a_nonce_of_tenant_a_works_on_tenant_as_actor_only(walls):
    """A's nonce names its tenant in its id: on B's actor, or re-labelled for B, it is no nonce."""
    server, nonce, a_actor, b_actor = walls["server"], walls["nonce"], walls["a_actor"], walls["b_actor"]
    assert nonce.startswith("TACC_")
    assert call(server, "GET", f"/actors/v2/{a_actor}", params={"x-nonce": nonce}).status_code == 200
    before = snapshot(walls)
    forged = "SD2E_" + nonce.rsplit("_", 1)[1]
    for params, path in [({"x-nonce": nonce}, f"/actors/v2/{b_actor}"),
                         ({"x-nonce": nonce}, f"/actors/v2/{b_actor}/messages"),
                         ({"x-nonce": forged}, f"/actors/v2/{a_actor}"),
                         ({"x-nonce": forged}, f"/actors/v2/{a_actor}/messages"),
                         ({"x-nonce": forged}, f"/actors/v2/{b_actor}"),
                         ({"x-nonce": nonce}, "/actors/v2/aliases/shared"),
                         ({"x-nonce": nonce}, "/actors/v2/shared/messages")]:
        method = "POST" if path.endswith("/messages") else "GET"
        response = call(server, method, path, params=params, json={"message": "m"} if method == "POST" else None)
        assert response.status_code in (400, 404), (path, params, response.text)
    after = snapshot(walls)
    assert after == before


def test_a_tapis_v3_token_of_another_tenant_reaches_nothing_of_tenant_a(walls):
    server, a_actor, execution = walls["server"], walls["a_actor"], walls["execution"]
    before = snapshot(walls)
    headers = {"X-Tapis-Token": tapis_token("alice", tenant="elsewhere")}
    for method, path, body in [("GET", f"/v3/actors/{a_actor}", None),
                               ("POST", f"/v3/actors/{a_actor}/messages", {"message": "m"}),
                               ("DELETE", f"/v3/actors/{a_actor}", None),
                               ("GET", f"/v3/actors/{a_actor}/executions/{execution}/logs", None),
                               ("GET", "/v3/actors/aliases/only-a", None)]:
        response = call(server, method, path, headers, json=body)
        assert response.status_code in (400, 404), (method, path, response.text)
    for path in ("/v3/actors", "/v3/actors/aliases", "/v3/actors/search/executions"):
        response = call(server, "GET", path, headers)
        assert response.status_code == 200 and a_actor not in response.text, (path, response.text)
    assert snapshot(walls) == before
