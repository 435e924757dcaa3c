"""Security: who may do what (Abaco's auth.authorization, ABACO_REFERENCE.md §6), no token
in any log, loopback only, no privileged actor or host mount unless allowed, an actor's
token has its owner's rights only, and nothing an API caller sends reaches a shell.

The permission matrix drives every route and method over HTTP with configured tokens,
nonces and aliases, and derives what is expected from Abaco's rules (actors/auth.py and
actors/controllers.py, master), not from the emulator's code: GET needs READ, POST
messages EXECUTE, every other request UPDATE, on the actor (named by id or alias), on the
alias (alias routes), on both (alias nonces) or on the config; an ABACO_WORLD entry lets
everyone pass (permission_process returns True on it whatever its level); admins pass
authorization but not the UPDATE check of POST /aliases; a nonce is checked against the
identifier of the path, at the request's level, then authorization runs as its owner.
Every cell gets a fresh actor.
"""
from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from abaco_emulator import AbacoEmulator, tapis_token
from abaco_emulator.server import serve

from abaco_checks import abaco_error, echo

IMAGE = "sec/echo:1"
NONE, READ, EXECUTE, UPDATE = 0, 1, 2, 3
LEVEL_NAMES = {NONE: "NONE", READ: "READ", EXECUTE: "EXECUTE", UPDATE: "UPDATE"}
ADMIN_ROLE = "Internal/abaco-admin"
PRIVILEGED_ROLE = "Internal/abaco-privileged"
REPO = Path(__file__).resolve().parents[2]

# Tokens of the users of the matrix: bearer token -> "user[:roles]" (serve(tokens=...)).
TOKENS = {
    "tok-owner-5f2a": "owner", "tok-nobody-91cd": "nobody", "tok-reader-33b0": "reader",
    "tok-executor-7e1c": "executor", "tok-updater-c4d8": "updater", "tok-passerby-0a9f": "passerby",
    "tok-root-66e3": "root:admin", "tok-holder-d21b": "holder",
}
TOKEN_OF = {spec.split(":")[0]: token for token, spec in TOKENS.items()}


# -- who the callers are -------------------------------------------------------------------

@dataclass(frozen=True)
class Caller:
    """One column of the matrix: a user (by token) or a nonce, and what §5 gives it."""

    name: str
    user: str | None = None          # a user, with these grants made by the owner:
    actor: int = NONE                # its level on the actor (own grant, or ABACO_WORLD's)
    alias: int = NONE                # its level on the alias (the alias creator holds UPDATE)
    world: bool = False              # the actor level is granted to ABACO_WORLD, not to the user
    admin: bool = False
    nonce_level: int | None = None   # a nonce of the owner's, at this level,
    nonce_on: str = "actor"          # made for the actor id or for the alias,
    exhausted: bool = False          # with no uses left

    @property
    def is_nonce(self) -> bool:
        return self.nonce_level is not None


CALLERS = [
    Caller("owner", user="owner", actor=UPDATE, alias=UPDATE),
    Caller("other-NONE", user="nobody", actor=NONE),
    Caller("other-READ", user="reader", actor=READ),
    Caller("other-EXECUTE", user="executor", actor=EXECUTE),
    Caller("other-UPDATE", user="updater", actor=UPDATE),
    Caller("world-READ", user="passerby", actor=READ, world=True),
    Caller("world-UPDATE", user="passerby", actor=UPDATE, world=True),
    Caller("admin", user="root", admin=True),
    Caller("alias-holder", user="holder", actor=NONE, alias=UPDATE),
    Caller("nonce-READ", nonce_level=READ),
    Caller("nonce-EXECUTE", nonce_level=EXECUTE),
    Caller("nonce-UPDATE", nonce_level=UPDATE),
    Caller("nonce-exhausted", nonce_level=UPDATE, exhausted=True),
    Caller("alias-nonce-READ", nonce_level=READ, nonce_on="alias"),
    Caller("alias-nonce-EXECUTE", nonce_level=EXECUTE, nonce_on="alias"),
]


# -- what the routes need (Abaco's auth.authorization) ----------------------------------------

@dataclass(frozen=True)
class Route:
    """One row: a request, and which of Abaco's checks it meets (`family`)."""

    method: str
    path: str                        # below the prefix; {ident} is the actor id or the alias
    family: str                      # "actor", "alias", "alias_nonces" or "new_alias" (see abaco_allows)
    body: Any = None
    # Answers that show the request got past the permission check though it did nothing.
    passed: tuple[str, ...] = ()
    prefix: str = "/actors/v2"


# Routes of one actor, named by its id or by its alias ({ident}). Abaco resolves the alias
# to the actor and checks the level on the actor only, nonce routes included.
ACTOR_ROUTES = [
    Route("GET", "/{ident}", "actor"),
    Route("PUT", "/{ident}", "actor", {"image": IMAGE, "stateless": False}),
    Route("DELETE", "/{ident}", "actor"),
    Route("GET", "/{ident}/messages", "actor"),
    Route("POST", "/{ident}/messages", "actor", {"message": "m"}),
    Route("DELETE", "/{ident}/messages", "actor"),
    Route("GET", "/{ident}/state", "actor"),
    Route("POST", "/{ident}/state", "actor", {"n": 1}),
    Route("GET", "/{ident}/permissions", "actor"),
    Route("POST", "/{ident}/permissions", "actor", {"user": "someone", "level": "READ"}),
    Route("GET", "/{ident}/workers", "actor"),
    Route("POST", "/{ident}/workers", "actor", {"num": 1}),
    Route("GET", "/{ident}/workers/{worker}", "actor"),
    Route("DELETE", "/{ident}/workers/{worker}", "actor"),
    Route("GET", "/{ident}/nonces", "actor"),
    Route("POST", "/{ident}/nonces", "actor", {"level": "READ"}),
    Route("GET", "/{ident}/nonces/{nonce}", "actor"),
    Route("DELETE", "/{ident}/nonces/{nonce}", "actor"),
    Route("GET", "/{ident}/executions", "actor"),
    Route("POST", "/{ident}/executions", "actor", {"runtime": 1, "cpu": 1, "io": 1},
          passed=("Required field executor missing",)),  # Abaco's accounting always answers this
    Route("GET", "/{ident}/executions/{execution}", "actor"),
    Route("DELETE", "/{ident}/executions/{execution}", "actor",
          passed=("not RUNNING", "not in RUNNING")),  # it is COMPLETE: nothing to force-quit
    Route("GET", "/{ident}/executions/{execution}/logs", "actor"),
    Route("GET", "/{ident}/executions/{execution}/results", "actor"),
    Route("GET", "/actors/{ident}/executions/{execution}/logs", "actor", prefix="/emulator/v1"),
    # the dashboard's views: READ, as the routes they mirror
    Route("GET", "/actors/{ident}/executions", "actor", prefix="/emulator/v1"),
    Route("GET", "/actors/{ident}/executions/{execution}", "actor", prefix="/emulator/v1"),
    Route("GET", "/actors/{ident}/executions/{execution}/results/0", "actor", prefix="/emulator/v1",
          passed=("has no unread result",)),  # it sent none: past the check, nothing to show
]
ALIAS_ROUTES = [
    Route("GET", "/aliases/{alias}", "alias"),
    Route("PUT", "/aliases/{alias}", "alias", {"actorId": "{actor}"}),
    Route("DELETE", "/aliases/{alias}", "alias"),
    Route("GET", "/aliases/{alias}/permissions", "alias"),
    Route("POST", "/aliases/{alias}/permissions", "alias", {"user": "someone", "level": "READ"}),
    Route("GET", "/aliases/{alias}/nonces", "alias_nonces"),
    Route("POST", "/aliases/{alias}/nonces", "alias_nonces", {"level": "READ"}),
    Route("GET", "/aliases/{alias}/nonces/{alias_nonce}", "alias_nonces"),
    Route("DELETE", "/aliases/{alias}/nonces/{alias_nonce}", "alias_nonces"),
]
# Creating an alias names its actor in the body: AliasesResource.post checks UPDATE on it.
COLLECTION_ROUTES = [
    Route("POST", "/aliases", "new_alias", {"alias": "{fresh_alias}", "actorId": "{actor}"}),
]
# Listings: Abaco lists the actors the caller can READ (no admin bypass) and every alias
# of the tenant; a search shows what the caller has an entry for in the actor's document.
LISTINGS = [("/actors/v2", "actor", "id"), ("/actors/v2/aliases", "alias", "alias"),
            ("/actors/v2/search/actors", "search", "id"), ("/actors/v2/search/executions", "search", "actorId")]

USER_DENIED = "Not authorized -- you do not have access to this actor."
DENIALS = (
    "Not authorized",
    "Unable to parse actor identifier",  # a nonce on POST /aliases (get_db_id finds no identifier)
    "Nonce does not exist.",
    "Nonce does not have sufficient permissions level.",
    "No remaining uses left for this nonce.",
    "Abaco Admin role required.",
    # a nonce on a route naming no actor: get_db_id takes the path's segment for one
    "Actor with identifier '",
    "endpoint does not resolve.",
    "Nonces cannot be used on the emulator's own routes",
    "You do not have sufficient access to this actor config.",
)


def required_level(route: Route) -> int:
    """Abaco's auth.required_level: GET needs READ, POST to messages EXECUTE, the rest UPDATE."""
    if route.method == "GET":
        return READ
    if route.method == "POST" and route.path.endswith("/messages"):
        return EXECUTE
    return UPDATE


def holds(caller: Caller, resource: str, level: int) -> bool:
    """The user's entry (or an ABACO_WORLD one: everybody's) must reach `level`. Abaco's
    permission_process lets everyone pass on an ABACO_WORLD entry of any level; the
    emulator keeps the intended rule, so code never relies on that hole (README, differences)."""
    return (caller.actor if resource == "actor" else caller.alias) >= level


def user_allowed(caller: Caller, route: Route) -> bool:
    """Abaco's authorization for a user (or a nonce's owner), then the controller's own check."""
    level = required_level(route)
    if route.family == "new_alias":
        return holds(caller, "actor", UPDATE)  # check_permissions without roles: no admin bypass
    if caller.admin:
        return True
    if route.family == "alias":
        if route.method == "PUT":  # the alias, then (AliasResource.put) UPDATE on the actor it is to name
            return holds(caller, "alias", UPDATE) and holds(caller, "actor", UPDATE)
        return holds(caller, "alias", level)
    if route.family == "alias_nonces":
        return holds(caller, "alias", level) and holds(caller, "actor", level)
    if route.method == "POST" and route.path.endswith("/workers"):
        return False  # only admins are authorized to update workers
    return holds(caller, "actor", level)


OWNER = Caller("owner", user="owner", actor=UPDATE, alias=UPDATE)


def redeemed(caller: Caller, route: Route, ident_kind: str) -> bool:
    """auth.check_nonce: the identifier of the path decides the kind of nonce (an actor id
    needs an actor nonce, an alias an alias nonce; POST /aliases names none), its level
    must cover the request, and it must have a use left."""
    if route.family == "new_alias" or caller.exhausted:
        return False
    named = "alias" if route.family != "actor" or ident_kind == "alias" else "actor"
    return caller.nonce_on == named and caller.nonce_level >= required_level(route)


def expected_allowed(caller: Caller, route: Route, ident_kind: str) -> bool:
    """What Abaco says: may `caller` make this request, naming the actor by `ident_kind`?"""
    if not caller.is_nonce:
        return user_allowed(caller, route)
    # then authorization runs as the nonce's owner
    return redeemed(caller, route, ident_kind) and user_allowed(OWNER, route)


# -- a fresh world per cell -----------------------------------------------------------------

@pytest.fixture(scope="module")
def server():
    with serve(runner="local", tokens=TOKENS, user="owner") as running:
        running.emulator.register_image(IMAGE, echo)
        yield running


@dataclass
class World:
    """One actor of `owner` with its alias, a finished execution, a worker and nonces."""

    values: dict[str, str] = field(default_factory=dict)
    nonce_id: str | None = None


def make_world(server, caller: Caller) -> World:
    emulator = server.emulator
    owner = emulator.as_user("owner").actors
    actor = owner.add(body={"image": IMAGE, "stateless": False, "name": "guarded"})
    alias = "al-" + uuid.uuid4().hex[:10]
    if caller.name == "alias-holder":
        # The holder made the alias while it could UPDATE the actor; the owner then took that away.
        owner.updatePermissions(actorId=actor.id, body={"user": "holder", "level": "UPDATE"})
        emulator.as_user("holder").actors.addAlias(body={"alias": alias, "actorId": actor.id})
        owner.updatePermissions(actorId=actor.id, body={"user": "holder", "level": "NONE"})
    else:
        owner.addAlias(body={"alias": alias, "actorId": actor.id})
    if caller.user and not caller.admin and caller.user not in ("owner", "holder"):
        grantee = "ABACO_WORLD" if caller.world else caller.user
        owner.updatePermissions(actorId=actor.id, body={"user": grantee, "level": LEVEL_NAMES[caller.actor]})
    sent = owner.sendMessage(actorId=actor.id, body={"message": "first"})
    emulator.wait_for_execution(actor.id, sent.executionId, timeout=10)
    worker = owner.listWorkers(actorId=actor.id)[0]
    actor_nonce = owner.addNonce(actorId=actor.id, body={"level": "READ"})
    alias_nonce = add_alias_nonce(server, "root", alias, {"level": "READ"})
    world = World(values={"actor": actor.id, "alias": alias, "execution": sent.executionId, "worker": worker.id,
                          "actor_nonce": actor_nonce.id, "alias_nonce": alias_nonce,
                          "fresh_alias": "new-" + uuid.uuid4().hex[:10]})
    if caller.is_nonce:
        made = {"level": LEVEL_NAMES[caller.nonce_level], "maxUses": 1 if caller.exhausted else 5}
        if caller.nonce_on == "alias":  # made on the alias's own nonces route
            world.nonce_id = add_alias_nonce(server, "owner", alias, made)
        else:
            world.nonce_id = owner.addNonce(actorId=actor.id, body=made).id
        if caller.exhausted:
            owner.get(actorId=alias if caller.nonce_on == "alias" else actor.id, nonce=world.nonce_id)  # its one use
    return world


def add_alias_nonce(server, user: str, alias: str, body: dict[str, Any]) -> str:
    """A nonce of the alias itself (POST /aliases/{alias}/nonces; a nonce made on
    /{alias}/nonces is the actor's)."""
    made = requests.post(f"{server.url}/actors/v2/aliases/{alias}/nonces", json=body, timeout=30,
                         headers={"Authorization": f"Bearer {TOKEN_OF[user]}"})
    assert made.status_code == 200, made.text
    return made.json()["result"]["id"]


def request_for(server, caller: Caller, world: World, route: Route, ident_kind: str) -> requests.Response:
    values = dict(world.values)
    values["ident"] = values["alias"] if ident_kind == "alias" else values["actor"]
    values["nonce"] = values["actor_nonce"]  # /{alias}/nonces are the actor's nonces (Abaco resolves the alias)
    path = route.path.format(**values)
    body = json.loads(json.dumps(route.body).replace("{actor}", values["actor"])
                      .replace("{fresh_alias}", values["fresh_alias"])) if route.body is not None else None
    headers, params = {}, {}
    if caller.is_nonce:
        params["x-nonce"] = world.nonce_id
    else:
        headers["Authorization"] = f"Bearer {TOKEN_OF[caller.user]}"
    return requests.request(route.method, f"{server.url}{route.prefix}{path}", json=body, params=params,
                            headers=headers, timeout=30)


def outcome(response: requests.Response, route: Route) -> str:
    """"allowed" (it got past the permission check) or "denied"; anything else is a failure."""
    assert response.status_code < 500, response.text
    if response.status_code == 200:  # (results are raw bytes, not an envelope)
        return "allowed"
    body = response.json()
    message = body["message"]
    assert response.status_code in (400, 404) and body["status"] == "error", (response.status_code, message)
    if any(fragment in message for fragment in DENIALS):
        return "denied"
    if any(fragment in message for fragment in route.passed):
        return "allowed"
    raise AssertionError(f"neither allowed nor denied: {response.status_code} {message}")


def nonce_uses(emulator: AbacoEmulator, nonce_id: str | None) -> int | None:
    record = emulator.store.get("nonces", nonce_id) if nonce_id else None
    return record["current_uses"] if record else None


CELLS = [(route, kind) for route in ACTOR_ROUTES for kind in ("id", "alias")] + \
        [(route, "alias") for route in ALIAS_ROUTES] + [(route, "id") for route in COLLECTION_ROUTES]


@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c.name)
def test_permission_matrix(server, caller):
    """Every route and method, named by id and by alias, as this caller: allowed exactly where §5 says."""
    emulator = server.emulator
    wrong = []
    for route, ident_kind in CELLS:
        world = make_world(server, caller)
        uses = nonce_uses(emulator, world.nonce_id)
        response = request_for(server, caller, world, route, ident_kind)
        got = outcome(response, route)
        want = "allowed" if expected_allowed(caller, route, ident_kind) else "denied"
        cell = f"{route.method} {route.path} by {ident_kind}"
        if got != want:
            wrong.append(f"{cell}: {got}, expected {want} ({response.status_code} {response.text[:120]})")
        if got == "denied":
            assert emulator.store.get("actors", world.values["actor"]) is not None, f"{cell}: denied but deleted"
            if caller.user and not caller.is_nonce:
                assert response.json()["message"].startswith("Not authorized"), (cell, response.text)
        if caller.is_nonce and nonce_uses(emulator, world.nonce_id) is not None:
            # check_nonce counts the use before authorization runs as the owner (so a POST
            # to workers by nonce uses one and is refused); a nonce it refuses uses nothing.
            counted = uses + 1 if redeemed(caller, route, ident_kind) else uses
            assert nonce_uses(emulator, world.nonce_id) == counted, f"{cell}: uses"
        if emulator.store.get("actors", world.values["actor"]) is not None:
            emulator.as_user("root", roles=[ADMIN_ROLE]).actors.delete(actorId=world.values["actor"])
    assert not wrong, "\n".join(wrong)
    emulator.raise_background_errors()


def listed(caller: Caller, resource: str) -> bool:
    """Abaco's listings: actors the caller can READ by check_permissions (no roles, so no
    admin bypass); every alias of the tenant; a search, what the caller has an entry for
    in the actor's permissions document (`$exists`: a NONE entry too, no ABACO_WORLD)."""
    if resource == "actor":
        return not caller.admin and holds(caller, "actor", READ)
    if resource == "alias":
        return True
    return not caller.world and not caller.admin


@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c.name)
def test_listings_show_only_what_the_caller_may_read(server, caller):
    emulator = server.emulator
    world = make_world(server, caller)
    try:
        for path, resource, key in LISTINGS:
            headers, params = {}, {}
            if caller.is_nonce:
                params["x-nonce"] = world.nonce_id
            else:
                headers["Authorization"] = f"Bearer {TOKEN_OF[caller.user]}"
                if "/search/" in path:  # (on a listing, any query parameter makes it a search)
                    params["limit"] = 100_000
            response = requests.get(server.url + path, headers=headers, params=params, timeout=30)
            if caller.is_nonce:  # a nonce names no actor here: Abaco's get_db_id refuses it
                assert response.status_code in (400, 404) and response.json()["status"] == "error", response.text
                continue
            assert response.status_code == 200, response.text
            result = response.json()["result"]
            records = result["search"] if isinstance(result, dict) else result
            shown = {record.get(key) for record in records}
            target = world.values["alias"] if resource == "alias" else world.values["actor"]
            assert (target in shown) == listed(caller, resource), (path, caller.name)
    finally:
        emulator.as_user("root", roles=[ADMIN_ROLE]).actors.delete(actorId=world.values["actor"])


@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c.name)
def test_registering_an_actor_needs_a_user_not_a_nonce(server, caller):
    world = make_world(server, caller)
    response = request_for(server, caller, world, Route("POST", "", "actor", {"image": IMAGE}), "id")
    if caller.is_nonce:
        assert response.status_code == 400
        assert response.json()["message"] == "Not authorized."  # Abaco's get_db_id finds no actor in /actors
    else:
        assert response.status_code == 200, response.text
        assert response.json()["result"]["owner"] == caller.user


def test_a_request_by_nonce_runs_as_the_nonce_owner(server):
    """A message sent with a nonce is executed as its owner; a nonce made with a nonce is the owner's."""
    emulator = server.emulator
    world = make_world(server, Caller("nonce-UPDATE", nonce_level=UPDATE))
    actor_id = world.values["actor"]
    sent = requests.post(f"{server.url}/actors/v2/{actor_id}/messages", params={"x-nonce": world.nonce_id},
                         json={"message": "m"}, timeout=30).json()["result"]
    execution = emulator.wait_for_execution(actor_id, sent["executionId"], timeout=10)
    assert execution.executor == "owner"
    made = requests.post(f"{server.url}/actors/v2/{actor_id}/nonces", params={"x-nonce": world.nonce_id},
                         json={"level": "READ"}, timeout=30).json()["result"]
    assert made["owner"] == "owner"


# Routes that name no actor (Abaco's authorization sets db_id None for them), as
# (method, path, who may, body): "user" any user, "admin" the admin role, "config-read" /
# "config-update" that level on the config (the owner's; admins pass). A nonce names no
# actor on any of them: get_db_id refuses it.
CONFIG = "cfg-{token}"
OTHER_ROUTES = [
    ("GET", "/actors/v2/configs", "user", None),
    ("POST", "/actors/v2/configs", "user", {"name": "new-{token}", "value": "v", "isSecret": False,
                                            "actors": "{actor}"}),
    ("GET", "/actors/v2/configs/" + CONFIG, "config-read", None),
    ("PUT", "/actors/v2/configs/" + CONFIG, "config-update", {"name": CONFIG, "value": "w", "isSecret": False,
                                                              "actors": "{actor}"}),
    ("DELETE", "/actors/v2/configs/" + CONFIG, "config-update", None),
    ("GET", "/actors/v2/configs/" + CONFIG + "/permissions", "config-read", None),
    ("POST", "/actors/v2/configs/" + CONFIG + "/permissions", "config-update", {"user": "someone", "level": "READ"}),
    ("GET", "/actors/v2/admin", "admin", None),
    ("GET", "/actors/v2/admin/workers", "admin", None),
    ("GET", "/actors/v2/admin/executions", "admin", None),
    ("GET", "/actors/v2/utilization", "user", None),
    ("GET", "/actors/v2/search/workers", "user", None),
    ("GET", "/actors/v2/search/logs", "user", None),
    ("GET", "/emulator/v1/clock", "user", None),
    ("POST", "/emulator/v1/clock", "user", {"seconds": 0}),
    ("GET", "/emulator/v1/actors", "user", None),  # the dashboard's page of actors: what the caller may read
]
OTHER_CALLERS = [c for c in CALLERS
                 if c.name in ("owner", "other-NONE", "other-READ", "world-UPDATE", "admin", "nonce-UPDATE")]


def other_allowed(caller: Caller, rule: str) -> bool:
    """Abaco's authorization for a route naming no actor (the config's level as granted in the test)."""
    if caller.is_nonce:
        return False
    if caller.admin or rule == "user":
        return True
    if rule == "admin":
        return False
    held = UPDATE if caller.user == "owner" else READ if caller.user == "reader" else NONE
    return held >= (READ if rule == "config-read" else UPDATE)


@pytest.mark.parametrize("caller", OTHER_CALLERS, ids=lambda c: c.name)
def test_routes_that_name_no_actor(server, caller):
    """Configs by name (that level on the config), the admin routes, utilization, search
    and the emulator's clock: allowed exactly where Abaco's authorization allows."""
    emulator = server.emulator
    world = make_world(server, caller)
    owner = {"Authorization": f"Bearer {TOKEN_OF['owner']}"}
    admin = emulator.as_user("root", roles=[ADMIN_ROLE])
    wrong = []
    for method, path, rule, body in OTHER_ROUTES:
        token = uuid.uuid4().hex[:8]
        config = CONFIG.format(token=token)
        made = requests.post(f"{server.url}/actors/v2/configs", headers=owner, timeout=30,
                             json={"name": config, "value": "v", "isSecret": False, "actors": world.values["actor"]})
        assert made.status_code == 200, made.text
        if caller.user == "reader":
            requests.post(f"{server.url}/actors/v2/configs/{config}/permissions", headers=owner,
                          json={"user": "reader", "level": "READ"}, timeout=30)
        headers, params = {}, {}
        if caller.is_nonce:
            params["x-nonce"] = world.nonce_id
        else:
            headers["Authorization"] = f"Bearer {TOKEN_OF[caller.user]}"
        text = json.dumps(body).replace("{token}", token).replace("{actor}", world.values["actor"])
        sent = json.loads(text) if body is not None else None
        response = requests.request(method, server.url + path.format(token=token), json=sent, params=params,
                                    headers=headers, timeout=30)
        assert response.status_code < 500 and response.json()["status"] in ("success", "error"), response.text
        want = other_allowed(caller, rule)
        got = response.status_code == 200
        if got != want:
            wrong.append(f"{method} {path}: {response.status_code} {response.text[:120]}, expected allowed={want}")
        elif not got:
            assert response.status_code in (400, 404) and any(d in response.json()["message"] for d in DENIALS), \
                response.text
        for name in (config, f"new-{token}"):
            if any(c["name"] == name for c in admin.configs.list()):
                admin.configs.delete(configName=name)
    admin.actors.delete(actorId=world.values["actor"])
    assert not wrong, "\n".join(wrong)


def test_the_matrix_covers_every_route_of_the_app():
    """Every (method, route) the app serves, Abaco's and the emulator's own, is a row of a
    matrix above (or a listing, or one every user may call: registering, the OpenAPI document)."""
    from abaco_emulator.operations import EMULATOR_PREFIX, OPERATIONS

    def shape(path: str) -> str:
        return re.sub(r"/search/[a-z]+", "/search/<>",
                      re.sub(r"\{[a-z_]+\}|cfg-\{token\}|(?<=/results/)0$", "<>", path))
    served = {(op.method, shape((EMULATOR_PREFIX if op.emulator_only else "/actors/v2") + op.path))
              for op in OPERATIONS}
    covered = {(r.method, shape(r.prefix + r.path)) for r in ACTOR_ROUTES + ALIAS_ROUTES + COLLECTION_ROUTES}
    covered |= {("GET", shape(path)) for path, _, _ in LISTINGS}
    covered |= {(method, shape(path)) for method, path, _, _ in OTHER_ROUTES}
    covered |= {("POST", "/actors/v2"), ("GET", "/actors/v2/openapi.json")}
    assert served - covered == set()


V3_SAMPLE = [r for r in ACTOR_ROUTES if (r.method, r.path) in {
    ("GET", "/{ident}"), ("PUT", "/{ident}"), ("POST", "/{ident}/messages"), ("DELETE", "/{ident}/messages"),
    ("GET", "/{ident}/executions/{execution}"), ("POST", "/{ident}/nonces"), ("POST", "/{ident}/workers")}]


@pytest.mark.parametrize("caller", [c for c in CALLERS if c.user and not c.world], ids=lambda c: c.name)
def test_v3_allows_and_denies_as_v2(server, caller):
    """A sample of the matrix through /v3/actors with a Tapis token of the same user in the
    default tenant: the same allow/deny as v2 (both dialects share Abaco's rules)."""
    roles = ["abaco_admin"] if caller.admin else []
    headers = {"X-Tapis-Token": tapis_token(caller.user, roles=roles)}
    wrong = []
    for route in V3_SAMPLE:
        world = make_world(server, caller)
        path = route.path.format(ident=world.values["actor"], **world.values)
        body = route.body if route.method != "PUT" else {"image": IMAGE, "stateless": False}
        response = requests.request(route.method, f"{server.url}/v3/actors{path}", json=body, headers=headers,
                                    timeout=30)
        assert response.status_code < 500 and response.json()["status"] in ("success", "error"), response.text
        got = "allowed" if response.status_code == 200 or any(p in response.text for p in route.passed) else "denied"
        want = "allowed" if expected_allowed(caller, route, "id") else "denied"
        if got != want:
            wrong.append(f"{route.method} {route.path}: {got}, expected {want} ({response.text[:120]})")
        if server.emulator.store.get("actors", world.values["actor"]) is not None:
            server.emulator.as_user("root", roles=[ADMIN_ROLE]).actors.delete(actorId=world.values["actor"])
    assert not wrong, "\n".join(wrong)


def test_a_nonce_acts_with_its_owners_rights_of_now(server):
    """check_nonce redeems the nonce, then authorization runs as its owner: a nonce made by a
    user who has since lost UPDATE does not let its holder change the actor."""
    emulator = server.emulator
    owner = emulator.as_user("owner").actors
    actor = owner.add(body={"image": IMAGE, "stateless": False})
    owner.updatePermissions(actorId=actor.id, body={"user": "updater", "level": "UPDATE"})
    nonce = emulator.as_user("updater").actors.addNonce(actorId=actor.id, body={"level": "UPDATE"}).id
    owner.updatePermissions(actorId=actor.id, body={"user": "updater", "level": "READ"})
    response = requests.post(f"{server.url}/actors/v2/{actor.id}/state", params={"x-nonce": nonce}, json={"n": 1},
                             timeout=30)
    assert response.status_code == 400, response.text
    assert response.json()["message"] == USER_DENIED
    owner.delete(actorId=actor.id)


def test_alias_nonces_cannot_be_update_level(server):
    world = make_world(server, Caller("owner", user="owner", actor=UPDATE, alias=UPDATE))
    response = requests.post(f"{server.url}/actors/v2/aliases/{world.values['alias']}/nonces",
                             json={"level": "UPDATE"}, headers={"Authorization": f"Bearer {TOKEN_OF['owner']}"},
                             timeout=30)
    assert response.status_code == 400
    assert "The level attribute must be one of: ('NONE', 'READ', 'EXECUTE')" in response.json()["message"]


# -- tokens never reach a log ------------------------------------------------------------------

def jwt_for(user: str) -> str:
    import base64

    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'none'})}.{part({'http://wso2.org/claims/enduser': user + '@carbon.super'})}.sig-7f3e"


def test_tokens_never_reach_the_server_logs_at_debug(caplog):
    """Configured tokens, wrong tokens, JWTs and the access tokens of executions: none is logged."""
    secrets = {"cfg-secret-alpha-1c9b": "alice", "cfg-secret-root-88d2": "root:admin"}
    issued: list[str] = []
    with caplog.at_level(logging.DEBUG):
        with serve(runner="local", tokens=secrets) as running:
            original = running.emulator.tokens.issue_execution_token

            def spy(owner: str, tenant: str) -> str:
                token = original(owner, tenant)
                issued.append(token)
                return token
            running.emulator.tokens.issue_execution_token = spy  # what each execution gets
            running.emulator.register_image(IMAGE, echo)
            url = running.url + "/actors/v2"
            alice = {"Authorization": "Bearer cfg-secret-alpha-1c9b"}
            actor = requests.post(url, json={"image": IMAGE}, headers=alice, timeout=30).json()["result"]
            sent = requests.post(f"{url}/{actor['id']}/messages", json={"message": "m"}, headers=alice,
                                 timeout=30).json()["result"]
            running.emulator.engine.wait_for(sent["executionId"], 10)
            requests.get(url, headers={"Authorization": "Bearer wrong-secret-4e7a"}, timeout=30)
            requests.get(url, headers={"Authorization": "Bearer cfg-secret-root-88d2"}, timeout=30)
            requests.get(url, headers={"X-Jwt-Assertion-DEV-DEVELOP": jwt_for("carol")}, timeout=30)
            requests.get(url, headers={"X-Jwt-Assertion-DEV-DEVELOP": "garbage-jwt-secret-5d1"}, timeout=30)
            requests.get(url, headers={"Authorization": "Basic c2VjcmV0LWJhc2ljLTli"}, timeout=30)
            requests.get(f"{url}/boom", headers={"Authorization": "Bearer wrong-secret-4e7a"}, timeout=30)
            logs = requests.get(f"{url}/{actor['id']}/executions/{sent['executionId']}/logs", headers=alice,
                                timeout=30).json()["result"]["logs"]
            default_token = running.token
    text = caplog.text
    assert issued and text, "an execution got a token and the server logged something"
    for secret in [*secrets, "wrong-secret-4e7a", jwt_for("carol"), "garbage-jwt-secret-5d1",
                   "c2VjcmV0LWJhc2ljLTli", default_token, *issued]:
        assert secret not in text, f"{secret[:12]}... is in the log"
        assert secret not in logs
    assert "abaco-actor-" not in text and "abaco-actor-" not in logs


def test_an_actor_sees_its_access_token_only_when_it_prints_it(ag):
    """The token is in the execution's environment; it reaches the execution log only if the actor prints it."""
    ag.register_image("quiet:1", lambda ctx: print("working"))
    ag.register_image("leaky:1", lambda ctx: print("token:", ctx["_abaco_access_token"]))
    quiet = ag.actors.add(body={"image": "quiet:1"})
    leaky = ag.actors.add(body={"image": "leaky:1"})
    for actor in (quiet, leaky):
        sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "m"})
        ag.wait_for_execution(actor.id, sent.executionId, timeout=10)
    quiet_logs = ag.actors.getExecutionLogs(actorId=quiet.id, executionId=ag.actors.listExecutions(
        actorId=quiet.id).executions[0]["id"]).logs
    leaky_logs = ag.actors.getExecutionLogs(actorId=leaky.id, executionId=ag.actors.listExecutions(
        actorId=leaky.id).executions[0]["id"]).logs
    assert "abaco-actor-" not in quiet_logs
    assert "abaco-actor-" in leaky_logs  # the token (a JWT whose last part is abaco-actor-...)


@pytest.fixture
def ag():
    with AbacoEmulator(runner="local") as emulator:
        emulator.register_image(IMAGE, echo)
        yield emulator
        emulator.raise_background_errors()


def start_cli_serve(*args: str) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, "-m", "abaco_emulator", "serve", "--port", "0", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=str(REPO))
    deadline = time.monotonic() + 30
    lines = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        match = re.match(r"^ready: (http://127\.0\.0\.1:\d+)", line)
        if match:
            return process, match.group(1)
    process.kill()
    raise AssertionError(f"no ready line: {lines} {process.stderr.read()}")


def stop_cli_serve(process: subprocess.Popen) -> str:
    process.terminate()
    out, err = process.communicate(timeout=30)
    return out + err


def test_tokens_never_reach_the_output_of_serve_at_debug():
    process, url = start_cli_serve("--runner", "local", "--log-level", "DEBUG",
                                   "--token", "cli-secret-alice-3b8e=alice", "--token", "cli-secret-root-a41f=root:admin")
    try:
        api = url + "/actors/v2"
        assert requests.get(api, headers={"Authorization": "Bearer cli-secret-alice-3b8e"}, timeout=30).status_code == 200
        assert requests.get(api, headers={"Authorization": "Bearer cli-secret-root-a41f"}, timeout=30).status_code == 200
        assert requests.get(api, headers={"Authorization": "Bearer cli-wrong-secret-77c2"}, timeout=30).status_code == 401
        requests.get(api, headers={"X-Jwt-Assertion-DEV-DEVELOP": "cli-garbage-jwt-9d0e"}, timeout=30)
        requests.post(api, data=b"{bad", headers={"Authorization": "Bearer cli-secret-alice-3b8e",
                                                   "Content-Type": "application/json"}, timeout=30)
    finally:
        output = stop_cli_serve(process)
    assert "DEBUG" in output or "WARNING" in output or output.strip(), "serve --log-level DEBUG logged nothing"
    for secret in ("cli-secret-alice-3b8e", "cli-secret-root-a41f", "cli-wrong-secret-77c2", "cli-garbage-jwt-9d0e"):
        assert secret not in output, f"{secret} is in the output of serve"


# -- loopback only ------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", "10.1.2.3", "example.invalid", ""])
def test_serve_refuses_a_non_loopback_host_without_allow_remote(host):
    with pytest.raises(ValueError, match="allow_remote"):
        serve(runner="local", host=host)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.0.0.2"])
def test_serve_binds_loopback_hosts_without_a_warning(host):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with serve(runner="local", host=host) as running:
            assert requests.get(running.url + "/actors/v2", timeout=30).status_code == 200


def test_serve_with_allow_remote_binds_and_warns(caplog):
    """Listening on every address is possible when asked, and then said loudly (we only
    ever connect to it over loopback)."""
    with caplog.at_level(logging.WARNING):
        with pytest.warns(RuntimeWarning, match="other machines can reach it"):
            running = serve(runner="local", host="0.0.0.0", allow_remote=True)
    with running:
        assert running.url.startswith("http://127.0.0.1:")
        assert requests.get(running.url + "/actors/v2", timeout=30).status_code == 200
    assert "non-loopback" in caplog.text


def test_cli_serve_with_allow_remote_warns_on_stderr():
    process, url = start_cli_serve("--runner", "local", "--host", "0.0.0.0", "--allow-remote")
    try:
        assert requests.get(url + "/actors/v2", timeout=30).status_code == 200
    finally:
        output = stop_cli_serve(process)
    assert "other machines" in output or "non-loopback" in output, output


def test_cli_serve_refuses_a_non_loopback_host():
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "abaco_emulator", "serve", "--runner", "local", "--host", "0.0.0.0",
                           "--port", "0"], capture_output=True, text=True, env=env, cwd=str(REPO), timeout=60)
    assert done.returncode != 0
    assert "allow" in done.stderr and "Traceback" not in done.stderr


# -- privileged actors and host mounts --------------------------------------------------------

PRIVILEGED = {"image": IMAGE, "privileged": True}
MOUNTS = {"image": IMAGE, "mounts": [{"hostPath": "/", "containerPath": "/host", "mode": "rw"}]}


@pytest.mark.parametrize("roles", [[PRIVILEGED_ROLE], [ADMIN_ROLE]])
def test_privileged_actors_register_but_never_run_unless_the_emulator_allows_them(ag, roles):
    user = ag.as_user("boss", roles=roles)
    actor = user.actors.add(body=PRIVILEGED)  # registering is Abaco's rule: admins and privileged users
    assert actor.privileged is True
    deadline = time.monotonic() + 10
    while (shown := user.actors.get(actorId=actor.id)).status != "ERROR":
        assert time.monotonic() < deadline, shown
        time.sleep(0.02)
    assert "allow_privileged=True" in shown.statusMessage and "--allow-privileged" in shown.statusMessage
    sent = user.actors.sendMessage(actorId=actor.id, body={"message": "waits"})
    assert user.actors.getExecution(actorId=actor.id, executionId=sent.executionId).status == "SUBMITTED"
    with abaco_error(400, "privileged"):
        ag.as_user("plain").actors.add(body=PRIVILEGED)
    with AbacoEmulator(runner="local", allow_privileged=True) as allowing:
        allowing.register_image(IMAGE, echo)
        boss = allowing.as_user("boss", roles=roles)
        allowed = boss.actors.add(body=PRIVILEGED)
        deadline = time.monotonic() + 10
        while boss.actors.get(actorId=allowed.id).status != "READY":
            assert time.monotonic() < deadline
            time.sleep(0.02)


@pytest.mark.parametrize("roles", [[], [ADMIN_ROLE]])
def test_host_mounts_are_refused_unless_the_emulator_allows_them(ag, roles):
    user = ag.as_user("someone", roles=roles)
    with abaco_error(400, "Host mounts are disabled", "allow_mounts"):
        user.actors.add(body=MOUNTS)
    actor = user.actors.add(body={"image": IMAGE})
    with abaco_error(400, "Host mounts are disabled"):
        user.actors.update(actorId=actor.id, body=MOUNTS)
    assert user.actors.get(actorId=actor.id).mounts == []
    with AbacoEmulator(runner="local", allow_mounts=True) as allowing:
        allowing.register_image(IMAGE, echo)
        assert allowing.as_user("someone", roles=roles).actors.add(body=MOUNTS).mounts == MOUNTS["mounts"]


def test_privileged_and_mounts_are_refused_over_http_too():
    with serve(runner="local", tokens={"boss-tok": "boss:admin"}) as running:
        running.emulator.register_image(IMAGE, echo)
        headers = {"Authorization": "Bearer boss-tok"}
        url = running.url + "/actors/v2"
        for body in (MOUNTS, {**PRIVILEGED, **MOUNTS}):
            answer = requests.post(url, json=body, headers=headers, timeout=30)
            assert answer.status_code == 400 and "disabled" in answer.json()["message"]
        actor = requests.post(url, json={"image": IMAGE}, headers=headers, timeout=30).json()["result"]
        for body in (MOUNTS,):
            answer = requests.put(f"{url}/{actor['id']}", json=body, headers=headers, timeout=30)
            assert answer.status_code == 400 and "disabled" in answer.json()["message"]


# -- an actor's access token ---------------------------------------------------------------------

def test_an_actors_access_token_has_its_owners_rights_only_and_ends_with_the_execution():
    tokens = {"alice-tok-2c": "alice", "bob-tok-9e": "bob", "root-tok-5a": "root:admin"}
    with serve(runner="local", tokens=tokens) as running:
        seen: dict[str, Any] = {}

        def caller_of_the_api(ctx):
            """Inside the execution: what the token lets the actor do."""
            headers = {"Authorization": f"Bearer {ctx['_abaco_access_token']}"}
            api = ctx["_abaco_api_server"] + "/actors/v2"
            seen["token"] = ctx["_abaco_access_token"]
            seen["own"] = requests.get(f"{api}/{ctx['_abaco_actor_id']}", headers=headers, timeout=30).status_code
            other = requests.get(f"{api}/{ctx['MSG']}", headers=headers, timeout=30)
            seen["other"] = (other.status_code, other.json()["message"])
            seen["listed"] = [a["id"] for a in requests.get(api, headers=headers, timeout=30).json()["result"]]
            seen["workers"] = requests.post(f"{api}/{ctx['_abaco_actor_id']}/workers", json={"num": 1},
                                            headers=headers, timeout=30).json()["message"]
            print("done")

        running.emulator.register_image("caller:1", caller_of_the_api)
        api = running.url + "/actors/v2"
        bobs = requests.post(api, json={"image": "caller:1"}, headers={"Authorization": "Bearer bob-tok-9e"},
                             timeout=30).json()["result"]
        alices = requests.post(api, json={"image": "caller:1"}, headers={"Authorization": "Bearer alice-tok-2c"},
                               timeout=30).json()["result"]
        sent = requests.post(f"{api}/{alices['id']}/messages", json={"message": bobs["id"]},
                             headers={"Authorization": "Bearer alice-tok-2c"}, timeout=30).json()["result"]
        running.emulator.engine.wait_for(sent["executionId"], 20)
        running.emulator.raise_background_errors()
        assert seen["own"] == 200
        assert seen["other"] == (400, "Not authorized -- you do not have access to this actor.")
        assert seen["listed"] == [alices["id"]]
        assert "only admins" in seen["workers"]
        assert seen["token"] not in tokens
        after = requests.get(f"{api}/{alices['id']}", headers={"Authorization": f"Bearer {seen['token']}"},
                             timeout=30)
        assert after.status_code == 401, "the token outlived its execution"


# -- nothing reaches a shell --------------------------------------------------------------------

PAYLOADS = ["$(touch {marker})", "`touch {marker}`", "; touch {marker}", "a && touch {marker}",
            "| touch {marker}", "line one\nline two\n; touch {marker}", "'\"$HOME\"'", "${{PATH}}", "\\$x \\\\ \\n",
            "-rf /", "\x01\x7f\u00e9\u202e"]


def payloads(marker: Path) -> dict[str, str]:
    return {f"V{i}": text.format(marker=marker) for i, text in enumerate(PAYLOADS)}


PRINT_ENV = "import json, os, sys; json.dump(dict(os.environ), sys.stdout)"


def test_environment_keys_and_values_reach_a_command_verbatim(ag, tmp_path):
    marker = tmp_path / "pwned"
    ag.register_image("env-cmd:1", command=[sys.executable, "-c", PRINT_ENV])
    values = payloads(marker)
    odd_keys = {"A;touch " + str(marker): "k1", "$(touch " + str(marker) + ")": "k2", "has space": "k3"}
    actor = ag.actors.add(body={"image": "env-cmd:1", "defaultEnvironment": {**values, **odd_keys}})
    message = "$(touch " + str(marker) + ")\n`id`"
    sent = ag.actors.sendMessage(actorId=actor.id, body={"message": message},
                                 environment={"Q" + k: v for k, v in values.items()})
    execution = ag.wait_for_execution(actor.id, sent.executionId, timeout=20)
    assert execution.status == "COMPLETE"
    seen = json.loads(ag.actors.getExecutionLogs(actorId=actor.id, executionId=execution.id).logs)
    for key, value in {**values, **odd_keys}.items():
        assert seen[key] == value, key
    for key, value in values.items():
        assert seen["Q" + key] == value
    assert seen["MSG"] == message
    assert not marker.exists()


def settled_status(view: Any, actor_id: str, timeout: float = 30) -> str:
    """The actor's status once it left SUBMITTED (no wait helper exists for an actor's status)."""
    deadline = time.monotonic() + timeout
    while view.actors.get(actorId=actor_id).status == "SUBMITTED" and time.monotonic() < deadline:
        time.sleep(0.05)
    return view.actors.get(actorId=actor_id).status


def test_image_names_never_reach_a_shell(ag, tmp_path):
    marker = tmp_path / "pwned"
    for image in (f"$(touch {marker})", f"x; touch {marker}", f"`touch {marker}`", f"x|touch {marker}"):
        actor = ag.actors.add(body={"image": image})
        ag.actors.sendMessage(actorId=actor.id, body={"message": "m"})
        assert settled_status(ag, actor.id) == "ERROR"
    assert not marker.exists()


@pytest.mark.docker
def test_docker_environment_values_and_image_names_never_reach_a_shell(tmp_path):
    marker = Path("/tmp") / f"abaco-pwned-{uuid.uuid4().hex}"
    values = payloads(marker)
    script = "".join(f'printf "%s\\n<<END>>\\n" "${key}"; ' for key in values) + \
        f'[ -e {marker} ] && echo PWNED-INSIDE; true'
    with AbacoEmulator(runner="docker") as docker_ag:
        actor = docker_ag.actors.add(body={"image": "abaco-emulator/busybox:test",
                                           "defaultEnvironment": {"SCRIPT": script}})
        sent = docker_ag.actors.sendMessage(actorId=actor.id, body={"message": f"$(touch {marker})"},
                                            environment=values)
        execution = docker_ag.wait_for_execution(actor.id, sent.executionId, timeout=60)
        logs = docker_ag.actors.getExecutionLogs(actorId=actor.id, executionId=execution.id).logs
        bad = docker_ag.actors.add(body={"image": f"busybox; touch {marker}"})
        bad_sent = docker_ag.actors.sendMessage(actorId=bad.id, body={"message": "m"})
        assert settled_status(docker_ag, bad.id) == "ERROR"
        assert docker_ag.actors.getExecution(actorId=bad.id, executionId=bad_sent.executionId).status != "COMPLETE"
    assert execution.status == "COMPLETE" and execution.exitCode == 0, logs
    assert logs.split("\n<<END>>\n")[:len(values)] == list(values.values())
    assert "PWNED-INSIDE" not in logs
    assert not marker.exists()
