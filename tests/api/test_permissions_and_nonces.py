"""Permissions (owner, levels, ABACO_WORLD, admins) and nonces (use counting, levels,
identifiers, running as the nonce's owner), plus `nonce=` on every facade call."""
from __future__ import annotations

import re

import pytest
import requests

from abaco_checks import TIME, abaco_error, assert_camel_model, echo
from api_transports import api_path

NONCE_ID = re.compile(r"^DEV-DEVELOP_[A-Za-z0-9]{12,13}$")


@pytest.fixture
def actor(ag):
    ag.register_image("echo:1", echo)
    return ag.actors.add(body={"image": "echo:1", "stateless": False})


def grant(ag, actor_id, user, level):
    return ag.actors.updatePermissions(actorId=actor_id, body={"user": user, "level": level})


def run(view, actor_id, **kwargs):
    sent = view.actors.sendMessage(actorId=actor_id, body={"message": "m"}, **kwargs)
    return view.wait_for_execution(actor_id, sent.executionId, timeout=5) if not kwargs else sent


# -- permissions -----------------------------------------------------------------------

def test_get_permissions_maps_users_to_levels(ag, actor):
    permissions = ag.actors.getPermissions(actorId=actor.id)
    assert isinstance(permissions, dict)
    assert permissions == {"testuser": "UPDATE"}


def test_update_permissions_returns_the_whole_map(ag, actor):
    result = grant(ag, actor.id, "alice", "READ")
    assert result == {"testuser": "UPDATE", "alice": "READ"}
    result = grant(ag, actor.id, "bob", "EXECUTE")
    assert result == {"testuser": "UPDATE", "alice": "READ", "bob": "EXECUTE"}
    assert grant(ag, actor.id, "alice", "UPDATE")["alice"] == "UPDATE"


@pytest.mark.parametrize("level, can_read, can_execute, can_update", [
    ("NONE", False, False, False),
    ("READ", True, False, False),
    ("EXECUTE", True, True, False),
    ("UPDATE", True, True, True),
])
def test_levels_grant_what_they_name(ag, actor, level, can_read, can_execute, can_update):
    grant(ag, actor.id, "user", level)
    view = ag.as_user("user")
    checks = [
        (can_read, lambda: view.actors.get(actorId=actor.id)),
        (can_read, lambda: view.actors.getPermissions(actorId=actor.id)),
        (can_read, lambda: view.actors.listExecutions(actorId=actor.id)),
        (can_read, lambda: view.actors.getMessages(actorId=actor.id)),
        (can_read, lambda: view.actors.listWorkers(actorId=actor.id)),
        (can_execute, lambda: view.actors.sendMessage(actorId=actor.id, body={"message": "m"})),
        (can_update, lambda: view.actors.updatePermissions(actorId=actor.id,
                                                           body={"user": "x", "level": "READ"})),
        (can_update, lambda: view.actors.update(actorId=actor.id, body={"image": "echo:1",
                                                                        "stateless": False})),
        (can_update, lambda: view.actors.updateState(actorId=actor.id, body={"a": 1})),
        (can_update, lambda: view.actors.addNonce(actorId=actor.id, body={"level": "READ"})),
    ]
    for allowed, call in checks:
        if allowed:
            call()
        else:
            with abaco_error(400, "Not authorized -- you do not have access to this actor."):
                call()


def test_a_stranger_has_no_access(ag, actor):
    with abaco_error(400, "Not authorized -- you do not have access to this actor.") as caught:
        ag.as_user("stranger").actors.get(actorId=actor.id)
    assert caught.message == "Not authorized -- you do not have access to this actor."
    assert ag.as_user("stranger").actors.list() == []


def test_abaco_world_grants_everyone_that_level(ag, actor):
    grant(ag, actor.id, "ABACO_WORLD", "EXECUTE")
    anyone = ag.as_user("anyone")
    assert anyone.actors.get(actorId=actor.id).id == actor.id
    assert [a.id for a in anyone.actors.list()] == [actor.id]
    ex = run(anyone, actor.id)
    assert ex.executor == "anyone"
    with abaco_error(400, "Not authorized"):
        anyone.actors.update(actorId=actor.id, body={"image": "echo:1", "stateless": False})


def test_a_user_gets_the_higher_of_own_and_world_level(ag, actor):
    grant(ag, actor.id, "ABACO_WORLD", "READ")
    grant(ag, actor.id, "bob", "UPDATE")
    ag.as_user("bob").actors.updateState(actorId=actor.id, body={"by": "bob"})
    grant(ag, actor.id, "ABACO_WORLD", "EXECUTE")
    grant(ag, actor.id, "carol", "READ")
    run(ag.as_user("carol"), actor.id)


def test_revoking_with_none_removes_access(ag, actor):
    grant(ag, actor.id, "alice", "READ")
    ag.as_user("alice").actors.get(actorId=actor.id)
    grant(ag, actor.id, "alice", "NONE")
    with abaco_error(400, "Not authorized"):
        ag.as_user("alice").actors.get(actorId=actor.id)


def test_admin_bypasses_permission_checks(ag, admin, actor):
    assert admin.actors.get(actorId=actor.id).id == actor.id
    ex = run(admin, actor.id)
    assert ex.executor == "admin"
    admin.actors.updatePermissions(actorId=actor.id, body={"user": "z", "level": "READ"})
    admin.actors.delete(actorId=actor.id)


def test_a_path_holding_admin_needs_the_admin_role_as_on_abaco(ag, admin, actor):
    """Abaco refuses non-admins any path containing "admin", after resolving its actor."""
    ag.actors.addAlias(body={"alias": "sysadmin", "actorId": actor.id})
    with abaco_error(400, "Abaco Admin role required"):
        ag.actors.getAlias(alias="sysadmin")
    with abaco_error(400, "Abaco Admin role required"):
        ag.actors.get(actorId="sysadmin")
    with abaco_error(404, "nosuchadmin"):
        ag.actors.get(actorId="nosuchadmin")
    assert admin.actors.get(actorId="sysadmin").id == actor.id
    assert ag.actors.get(actorId=actor.id).id == actor.id


def test_privileged_role_does_not_bypass_permissions(ag, actor):
    privileged = ag.as_user("priv", roles=["Internal/abaco-privileged"])
    with abaco_error(400, "Not authorized"):
        privileged.actors.get(actorId=actor.id)


@pytest.mark.parametrize("body, fragment", [
    ({"user": "u", "level": "SUPERUSER"}, "SUPERUSER"),
    ({"user": "u"}, "level"),
    ({"level": "READ"}, "user"),
    ({"user": 5, "level": "READ"}, "user"),
    ({"user": "u", "level": 3}, "level"),
    pytest.param([], "object", marks=pytest.mark.transports(
        "in-process", reason="agavepy 0.9.5 joins a list body with commas: it cannot send a JSON array")),
])
def test_bad_permission_requests_are_400(ag, actor, body, fragment):
    with abaco_error(400, fragment):
        ag.actors.updatePermissions(actorId=actor.id, body=body)
    assert ag.actors.getPermissions(actorId=actor.id) == {"testuser": "UPDATE"}


# -- nonces ------------------------------------------------------------------------------

def test_add_nonce_defaults_and_shape(ag, actor):
    nonce = ag.actors.addNonce(actorId=actor.id)
    assert_camel_model(nonce, ["id", "actorId", "owner", "level", "maxUses", "currentUses", "remainingUses",
                               "createTime", "_links"])
    assert NONCE_ID.match(nonce.id)
    assert nonce.actorId == actor.id
    assert nonce.owner == "testuser"
    assert nonce.level == "EXECUTE"
    assert nonce.maxUses == -1
    assert nonce.currentUses == 0
    assert nonce.remainingUses == -1
    assert nonce.description == ""
    assert TIME.match(nonce.createTime)
    assert nonce._links["self"].endswith(f"{api_path(ag)}/{actor.id}/nonces/{nonce.id}")


def test_add_nonce_with_level_max_uses_and_description(ag, actor):
    nonce = ag.actors.addNonce(actorId=actor.id, body={"level": "READ", "maxUses": 3, "description": "d"})
    assert (nonce.level, nonce.maxUses, nonce.remainingUses, nonce.description) == ("READ", 3, 3, "d")


def test_list_get_and_delete_nonces(ag, actor):
    first = ag.actors.addNonce(actorId=actor.id, body={"level": "READ"})
    second = ag.actors.addNonce(actorId=actor.id, body={"maxUses": 2})
    listed = ag.actors.listNonces(actorId=actor.id)
    assert isinstance(listed, list)
    assert [n.id for n in listed] == [first.id, second.id]
    for nonce in listed:
        assert_camel_model(nonce, ["id", "_links"])
    got = ag.actors.getNonce(actorId=actor.id, nonceId=second.id)
    assert got.id == second.id and got.maxUses == 2
    assert ag.actors.deleteNonce(actorId=actor.id, nonceId=first.id) is None
    assert [n.id for n in ag.actors.listNonces(actorId=actor.id)] == [second.id]
    with abaco_error(400, "Nonce not found."):
        ag.actors.getNonce(actorId=actor.id, nonceId=first.id)
    with abaco_error(400, "Nonce does not exist."):
        ag.actors.get(actorId=actor.id, nonce=first.id)


def test_get_and_delete_unknown_nonce_is_400_nonce_not_found(ag, actor):
    with abaco_error(400, "Nonce not found."):
        ag.actors.getNonce(actorId=actor.id, nonceId="DEV-DEVELOP_AAAAAAAAAAAAA")
    with abaco_error(400, "Nonce not found."):
        ag.actors.deleteNonce(actorId=actor.id, nonceId="DEV-DEVELOP_AAAAAAAAAAAAA")


def test_nonce_of_another_actor_is_not_found_on_this_one(ag, actor):
    other = ag.actors.add(body={"image": "echo:1"})
    nonce = ag.actors.addNonce(actorId=other.id)
    with abaco_error(400, "Nonce not found."):
        ag.actors.getNonce(actorId=actor.id, nonceId=nonce.id)


@pytest.mark.parametrize("body, fragment", [
    ({"maxUses": 0}, "The max uses parameter must be a positive integer or -1 (to denote unlimited uses)."),
    ({"maxUses": -2}, "The max uses parameter must be a positive integer or -1"),
    ({"maxUses": "3"}, "maxUses"),
    ({"maxUses": 1.5}, "maxUses"),
    ({"level": "ROOT"}, "Invalid nonce description. The level attribute must be one of: "
                        "('NONE', 'READ', 'EXECUTE', 'UPDATE')"),
    ({"level": 2}, "level"),
])
def test_bad_nonce_requests_are_400(ag, actor, body, fragment):
    with abaco_error(400, fragment):
        ag.actors.addNonce(actorId=actor.id, body=body)
    assert ag.actors.listNonces(actorId=actor.id) == []


def test_nonces_need_update_to_create_and_read_to_list(ag, actor):
    grant(ag, actor.id, "runner", "EXECUTE")
    runner = ag.as_user("runner")
    with abaco_error(400, "Not authorized"):
        runner.actors.addNonce(actorId=actor.id, body={"level": "EXECUTE"})
    assert runner.actors.listNonces(actorId=actor.id) == []
    with abaco_error(400, "Not authorized"):
        ag.as_user("stranger").actors.listNonces(actorId=actor.id)


def test_nonce_lets_a_user_without_permission_act_as_the_nonce_owner(ag, actor):
    nonce = ag.actors.addNonce(actorId=actor.id, body={"level": "EXECUTE"})
    stranger = ag.as_user("stranger")
    with abaco_error(400, "Not authorized"):
        stranger.actors.sendMessage(actorId=actor.id, body={"message": "m"})
    sent = stranger.actors.sendMessage(actorId=actor.id, body={"message": "m"}, nonce=nonce.id)
    ex = ag.wait_for_execution(actor.id, sent.executionId, timeout=5)
    assert ex.executor == "testuser"


def test_nonce_of_a_shared_user_runs_as_that_user(ag, actor):
    grant(ag, actor.id, "sharer", "UPDATE")
    nonce = ag.as_user("sharer").actors.addNonce(actorId=actor.id)
    assert nonce.owner == "sharer"
    sent = ag.as_user("stranger").actors.sendMessage(actorId=actor.id, body={"message": "m"}, nonce=nonce.id)
    assert ag.wait_for_execution(actor.id, sent.executionId, timeout=5).executor == "sharer"


def test_nonce_uses_are_counted_and_exhausted(ag, actor):
    nonce = ag.actors.addNonce(actorId=actor.id, body={"level": "READ", "maxUses": 2})
    stranger = ag.as_user("stranger")
    stranger.actors.get(actorId=actor.id, nonce=nonce.id)
    after_one = ag.actors.getNonce(actorId=actor.id, nonceId=nonce.id)
    assert (after_one.currentUses, after_one.remainingUses) == (1, 1)
    assert "lastUseTime" in after_one and TIME.match(after_one.lastUseTime)
    stranger.actors.get(actorId=actor.id, nonce=nonce.id)
    after_two = ag.actors.getNonce(actorId=actor.id, nonceId=nonce.id)
    assert (after_two.currentUses, after_two.remainingUses) == (2, 0)
    with abaco_error(400, "No remaining uses left for this nonce."):
        stranger.actors.get(actorId=actor.id, nonce=nonce.id)
    assert ag.actors.getNonce(actorId=actor.id, nonceId=nonce.id).currentUses == 2


def test_unlimited_nonce_counts_uses_and_keeps_minus_one_remaining(ag, actor):
    nonce = ag.actors.addNonce(actorId=actor.id, body={"level": "READ"})
    for _ in range(5):
        ag.as_user("stranger").actors.get(actorId=actor.id, nonce=nonce.id)
    got = ag.actors.getNonce(actorId=actor.id, nonceId=nonce.id)
    assert (got.currentUses, got.remainingUses) == (5, -1)


def test_nonce_with_insufficient_level_is_400(ag, actor):
    nonce = ag.actors.addNonce(actorId=actor.id, body={"level": "READ"})
    with abaco_error(400, "Nonce does not have sufficient permissions level."):
        ag.as_user("stranger").actors.sendMessage(actorId=actor.id, body={"message": "m"}, nonce=nonce.id)
    execute = ag.actors.addNonce(actorId=actor.id, body={"level": "EXECUTE"})
    with abaco_error(400, "Nonce does not have sufficient permissions level."):
        ag.as_user("stranger").actors.updateState(actorId=actor.id, body={}, nonce=execute.id)


def test_nonce_on_the_wrong_identifier_is_400(ag, actor):
    other = ag.actors.add(body={"image": "echo:1"})
    nonce = ag.actors.addNonce(actorId=actor.id, body={"level": "READ"})
    with abaco_error(400, "nonce"):
        ag.as_user("stranger").actors.get(actorId=other.id, nonce=nonce.id)
    assert ag.actors.getNonce(actorId=actor.id, nonceId=nonce.id).currentUses == 0


def test_unknown_nonce_is_400_nonce_does_not_exist(ag, actor):
    with abaco_error(400, "Nonce does not exist."):
        ag.as_user("stranger").actors.get(actorId=actor.id, nonce="DEV-DEVELOP_AAAAAAAAAAAAA")


def test_a_nonce_on_a_route_naming_no_actor_is_refused_as_abaco_refuses_it(ag, actor):
    nonce = ag.actors.addNonce(actorId=actor.id, body={"level": "UPDATE"})
    with abaco_error(400, "Not authorized"):  # Abaco's get_db_id finds no actor in /actors
        ag.as_user("stranger").actors.add(body={"image": "echo:1"}, nonce=nonce.id)
    with abaco_error(404, "Unable to parse actor identifier"):
        ag.as_user("stranger").actors.addAlias(body={"alias": "a", "actorId": actor.id}, nonce=nonce.id)
    with abaco_error(404, "endpoint does not resolve"):
        ag.as_user("stranger").actors.getSearch(search_type="actors", nonce=nonce.id)


def test_admin_nonce_carries_the_admin_rights(ag, admin, actor):
    nonce = admin.actors.addNonce(actorId=actor.id, body={"level": "UPDATE"})
    assert nonce.owner == "admin"
    # the admin's nonce carries the admin's rights
    ag.as_user("stranger").actors.update(actorId=actor.id, body={"image": "echo:1", "stateless": False},
                                         nonce=nonce.id)


def test_update_nonce_allows_every_write(ag, actor):
    nonce = ag.actors.addNonce(actorId=actor.id, body={"level": "UPDATE"})
    stranger = ag.as_user("stranger")
    stranger.actors.updateState(actorId=actor.id, body={"via": "nonce"}, nonce=nonce.id)
    assert ag.actors.getState(actorId=actor.id).state == {"via": "nonce"}
    stranger.actors.updatePermissions(actorId=actor.id, body={"user": "friend", "level": "READ"}, nonce=nonce.id)
    assert ag.actors.getPermissions(actorId=actor.id)["friend"] == "READ"
    assert ag.actors.getNonce(actorId=actor.id, nonceId=nonce.id).currentUses == 2


# -- nonce= on every facade method ------------------------------------------------------

def _calls(actor_id, execution_id, worker_id, nonce_id):
    """Every per-actor method, as a stranger would call it with a nonce, and the level it needs."""
    return {
        "get": ("READ", lambda a: a.get(actorId=actor_id, nonce=nonce_id)),
        "getMessages": ("READ", lambda a: a.getMessages(actorId=actor_id, nonce=nonce_id)),
        "getState": ("READ", lambda a: a.getState(actorId=actor_id, nonce=nonce_id)),
        "getPermissions": ("READ", lambda a: a.getPermissions(actorId=actor_id, nonce=nonce_id)),
        "listWorkers": ("READ", lambda a: a.listWorkers(actorId=actor_id, nonce=nonce_id)),
        "getWorker": ("READ", lambda a: a.getWorker(actorId=actor_id, workerId=worker_id, nonce=nonce_id)),
        "listExecutions": ("READ", lambda a: a.listExecutions(actorId=actor_id, nonce=nonce_id)),
        "getExecution": ("READ", lambda a: a.getExecution(actorId=actor_id, executionId=execution_id,
                                                          nonce=nonce_id)),
        "getExecutionLogs": ("READ", lambda a: a.getExecutionLogs(actorId=actor_id, executionId=execution_id,
                                                                  nonce=nonce_id)),
        "getOneExecutionResult": ("READ", lambda a: a.getOneExecutionResult(
            actorId=actor_id, executionId=execution_id, nonce=nonce_id)),
        "sendMessage": ("EXECUTE", lambda a: a.sendMessage(actorId=actor_id, body={"message": "n"},
                                                           nonce=nonce_id)),
        "sendBinaryMessage": ("EXECUTE", lambda a: a.sendBinaryMessage(actorId=actor_id, message=b"n",
                                                                       nonce=nonce_id)),
        "updateState": ("UPDATE", lambda a: a.updateState(actorId=actor_id, body={"n": 1}, nonce=nonce_id)),
        "updatePermissions": ("UPDATE", lambda a: a.updatePermissions(
            actorId=actor_id, body={"user": "z", "level": "READ"}, nonce=nonce_id)),
        "deleteMessages": ("UPDATE", lambda a: a.deleteMessages(actorId=actor_id, nonce=nonce_id)),
        "update": ("UPDATE", lambda a: a.update(actorId=actor_id, body={"image": "echo:1", "stateless": False},
                                                nonce=nonce_id)),
        "listNonces": ("READ", lambda a: a.listNonces(actorId=actor_id, nonce=nonce_id)),
        "getNonce": ("READ", lambda a: a.getNonce(actorId=actor_id, nonceId=nonce_id, nonce=nonce_id)),
        "addNonce": ("UPDATE", lambda a: a.addNonce(actorId=actor_id, body={"level": "READ"}, nonce=nonce_id)),
        "deleteWorker": ("UPDATE", lambda a: a.deleteWorker(actorId=actor_id, workerId=worker_id,
                                                            nonce=nonce_id)),
        "delete": ("UPDATE", lambda a: a.delete(actorId=actor_id, nonce=nonce_id)),
    }


METHOD_NAMES = list(_calls("a", "e", "w", "n"))
ABOVE_READ = [name for name, (level, _) in _calls("a", "e", "w", "n").items() if level != "READ"]


@pytest.mark.transports("in-process", reason="calls each method with nonce=None too, which agavepy 0.9.5 refuses "
                                             "with a TypeError")
@pytest.mark.parametrize("method", METHOD_NAMES)
def test_every_actor_method_accepts_a_nonce_that_grants_its_level(ag, actor, method):
    ex = run(ag, actor.id)
    worker_id = ag.actors.listWorkers(actorId=actor.id)[0].id
    level = _calls(actor.id, ex.id, worker_id, "x")[method][0]
    nonce = ag.actors.addNonce(actorId=actor.id, body={"level": level})
    call = _calls(actor.id, ex.id, worker_id, nonce.id)[method][1]
    stranger = ag.as_user("stranger").actors
    with abaco_error(400, "Not authorized"):
        _calls(actor.id, ex.id, worker_id, None)[method][1](stranger)
    call(stranger)
    if method != "delete":
        assert ag.actors.getNonce(actorId=actor.id, nonceId=nonce.id).currentUses == 1


@pytest.mark.parametrize("method", ABOVE_READ)
def test_every_actor_method_refuses_a_nonce_below_its_level(ag, actor, method):
    ex = run(ag, actor.id)
    worker_id = ag.actors.listWorkers(actorId=actor.id)[0].id
    level = _calls(actor.id, ex.id, worker_id, "x")[method][0]
    lower = {"EXECUTE": "READ", "UPDATE": "EXECUTE"}[level]
    nonce = ag.actors.addNonce(actorId=actor.id, body={"level": lower})
    with abaco_error(400, "Nonce does not have sufficient permissions level."):
        _calls(actor.id, ex.id, worker_id, nonce.id)[method][1](ag.as_user("stranger").actors)


def test_nonce_on_list_aliases_and_search_does_not_crash(ag, actor):
    nonce = ag.actors.addNonce(actorId=actor.id, body={"level": "READ"})
    for call in (lambda: ag.as_user("s").actors.listAliases(nonce=nonce.id),
                 lambda: ag.as_user("s").actors.getSearch(search_type="actors", nonce=nonce.id),
                 lambda: ag.as_user("s").actors.list(nonce=nonce.id)):
        try:
            result = call()
        except requests.HTTPError as error:
            assert error.response.status_code in (400, 404)
        else:
            assert isinstance(result, (list, dict))
