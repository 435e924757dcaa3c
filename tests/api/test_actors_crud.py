"""Registering, reading, listing, updating and deleting actors through `ag.actors`."""
from __future__ import annotations

import inspect
import time

import pytest
import requests

from abaco_emulator import AbacoEmulator, AttrDict
from abaco_emulator.client import ActorsClient

from abaco_checks import ID, TIME, Gate, abaco_error, assert_camel_model, echo
from api_transports import api_path

SEED_METHODS = [
    "add", "list", "delete", "get", "update", "deleteMessages", "getMessages", "sendBinaryMessage",
    "sendMessage", "getState", "updateState", "getPermissions", "updatePermissions", "addWorker",
    "listWorkers", "deleteWorker", "getWorker", "addNonce", "listNonces", "deleteNonce", "getNonce",
    "addAlias", "listAliases", "deleteAlias", "getAlias", "getSearch", "listExecutions", "getExecution",
    "getOneExecutionResult", "getExecutionLogs",
]

# The keyword arguments of each method in seeds/actors-interface.txt.
SEED_KEYWORDS = {
    "add": {"body"}, "list": {"limit", "q", "skip"}, "delete": {"actorId"}, "get": {"actorId"},
    "update": {"actorId", "body"}, "deleteMessages": {"actorId"}, "getMessages": {"actorId"},
    "sendBinaryMessage": {"actorId", "environment", "message"},
    "sendMessage": {"actorId", "body", "environment"}, "getState": {"actorId"},
    "updateState": {"actorId", "body"}, "getPermissions": {"actorId"},
    "updatePermissions": {"actorId", "body"}, "addWorker": {"actorId", "body", "limit", "q", "skip"},
    "listWorkers": {"actorId"}, "deleteWorker": {"actorId", "workerId"}, "getWorker": {"actorId", "workerId"},
    "addNonce": {"actorId", "body"}, "listNonces": {"actorId"}, "deleteNonce": {"actorId", "nonceId"},
    "getNonce": {"actorId", "nonceId"}, "addAlias": {"body"}, "listAliases": set(),
    "deleteAlias": {"alias"}, "getAlias": {"alias"}, "getSearch": {"limit", "q", "search_type", "skip"},
    "listExecutions": {"actorId", "limit", "q", "skip"}, "getExecution": {"actorId", "executionId"},
    "getOneExecutionResult": {"actorId", "executionId"},
    "getExecutionLogs": {"actorId", "executionId", "limit", "q", "skip"},
}

DEFAULTS = {
    "description": "", "defaultEnvironment": {}, "stateless": True, "privileged": False,
    "useContainerUid": False, "token": "false", "hints": [], "link": "", "webhook": "", "mounts": [],
    "queue": "default", "revision": 1, "cronOn": False, "type": "none", "state": {},
}


@pytest.fixture
def echo_image(ag):
    ag.register_image("demo/echo:1", echo)
    ag.register_image("demo/echo:2", echo)
    return "demo/echo:1"


# -- the interface -------------------------------------------------------------------

@pytest.mark.transports("in-process", reason="checks the Python signatures of the facade's methods")
@pytest.mark.parametrize("name", SEED_METHODS)
def test_facade_has_every_seed_method_with_its_keywords_and_nonce(ag, name):
    method = getattr(ag.actors, name)
    parameters = set(inspect.signature(method).parameters)
    assert SEED_KEYWORDS[name] <= parameters
    assert "nonce" in parameters


def test_facade_offers_exactly_thirty_seed_methods():
    assert len(SEED_METHODS) == 30
    public = {n for n in dir(ActorsClient) if not n.startswith("_")}
    assert set(SEED_METHODS) <= public


def test_facade_methods_take_keyword_arguments_only(ag, echo_image):
    actor = ag.actors.add(body={"image": echo_image})
    with pytest.raises(TypeError):
        ag.actors.get(actor.id)


# -- add -----------------------------------------------------------------------------

def test_add_returns_camelcase_actor_with_defaults_and_links(ag, echo_image):
    actor = ag.actors.add(body={"image": echo_image, "name": "echo"})
    assert_camel_model(actor, ["id", "name", "image", "owner", "status", "createTime", "lastUpdateTime",
                               "_links"] + list(DEFAULTS))
    assert actor.id == actor["id"]
    assert ID.match(actor.id)
    assert actor.name == "echo"
    assert actor.image == echo_image
    assert actor.owner == "testuser"
    for key, value in DEFAULTS.items():
        assert actor[key] == value, key
    assert TIME.match(actor.createTime) and TIME.match(actor.lastUpdateTime)
    for hidden in ("tenant", "dbId", "apiServer", "executions", "gid", "uid", "tasdir"):  # hidden, or null
        assert hidden not in actor
    links = actor._links
    assert links["self"].endswith(f"{api_path(ag)}/{actor.id}")
    assert links["owner"].endswith("/testuser")
    assert links["executions"].endswith(f"{api_path(ag)}/{actor.id}/executions")


def test_add_answers_with_status_submitted_then_actor_becomes_ready(ag, echo_image):
    statuses = [ag.actors.add(body={"image": echo_image}).status for _ in range(20)]
    assert statuses == ["SUBMITTED"] * 20
    ag.drain(5)
    actor = ag.actors.list()[0]
    _wait_status(ag, actor.id, "READY")


def _wait_status(ag, actor_id, status, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = ag.actors.get(actorId=actor_id)
        if current.status == status:
            return current
        time.sleep(0.01)
    raise AssertionError(f"actor {actor_id} is {current.status}, not {status}: {current.get('statusMessage')}")


def test_add_gives_owner_update_permission(ag, echo_image):
    actor = ag.actors.add(body={"image": echo_image})
    assert ag.actors.getPermissions(actorId=actor.id) == {"testuser": "UPDATE"}


def test_add_accepts_json_text_body_as_agavepy_sends_it(ag, echo_image):
    actor = ag.actors.add(body='{"image": "demo/echo:1", "description": "from text"}')
    assert actor.description == "from text"


def test_add_keeps_given_fields(ag, echo_image):
    actor = ag.actors.add(body={"image": echo_image, "description": "d", "defaultEnvironment": {"A": "1"},
                                "stateless": False, "hints": ["x"], "useContainerUid": True, "token": True})
    assert actor.description == "d"
    assert actor.defaultEnvironment == {"A": "1"}
    assert actor.stateless is False
    assert actor.hints == ["x"]
    assert actor.useContainerUid is True
    assert actor.token is True  # an explicit token is a boolean; the default is the string "false"


def test_ids_are_unique(ag, echo_image):
    ids = {ag.actors.add(body={"image": echo_image}).id for _ in range(30)}
    assert len(ids) == 30


# -- get -----------------------------------------------------------------------------

def test_get_returns_the_registered_actor(ag, echo_image):
    actor = ag.actors.add(body={"image": echo_image, "name": "n"})
    got = ag.actors.get(actorId=actor.id)
    assert_camel_model(got)
    assert got.id == actor.id and got.name == "n" and got.createTime == actor.createTime


def test_get_unknown_identifier_is_404_naming_it(ag):
    with abaco_error(404, "Actor with identifier 'AAAAAAAAAAAAA' not found"):
        ag.actors.get(actorId="AAAAAAAAAAAAA")


def test_get_unknown_non_id_identifier_is_404(ag):
    with abaco_error(404, "no-such-thing"):
        ag.actors.get(actorId="no-such-thing")


def test_get_by_a_user_without_permission_is_400_not_authorized(ag, echo_image):
    actor = ag.actors.add(body={"image": echo_image})
    with abaco_error(400, "Not authorized"):
        ag.as_user("mallory").actors.get(actorId=actor.id)


def test_error_is_an_httperror_with_request_url(ag):
    with pytest.raises(requests.exceptions.HTTPError) as info:
        ag.actors.get(actorId="AAAAAAAAAAAAA")
    assert f"{api_path(ag)}/AAAAAAAAAAAAA" in info.value.response.url
    assert isinstance(info.value, requests.HTTPError)


# -- list ----------------------------------------------------------------------------

def test_list_returns_attrdicts_of_readable_actors_only(ag, echo_image):
    mine = ag.actors.add(body={"image": echo_image, "name": "mine"})
    other = ag.as_user("other")
    theirs = other.actors.add(body={"image": echo_image, "name": "theirs"})
    listed = ag.actors.list()
    assert isinstance(listed, list)
    assert [a.id for a in listed] == [mine.id]
    for actor in listed:
        assert_camel_model(actor, ["id", "_links"])
    other.actors.updatePermissions(actorId=theirs.id, body={"user": "testuser", "level": "READ"})
    assert {a.id for a in ag.actors.list()} == {mine.id, theirs.id}


def test_list_shows_only_what_the_caller_may_read_even_to_an_admin(ag, admin, echo_image):
    """Abaco's list checks READ for everyone (no admin bypass); an admin can still get any actor."""
    mine = ag.actors.add(body={"image": echo_image})
    ag.as_user("other").actors.add(body={"image": echo_image})
    assert admin.actors.list() == []
    assert [a.id for a in ag.actors.list()] == [mine.id]
    assert admin.actors.get(actorId=mine.id).id == mine.id


def test_list_is_empty_without_actors(ag):
    assert ag.actors.list() == []


@pytest.mark.transports("in-process", reason="agavepy 0.9.5's actors.list takes no q or skip")
def test_list_with_paging_parameters_is_a_search_as_on_abaco(ag, echo_image):
    """Any query parameter but a lone x-nonce turns GET /actors into a search (ActorsResource.get)."""
    ids = [ag.actors.add(body={"image": echo_image, "name": f"a{i}"}).id for i in range(5)]
    assert [a["id"] for a in ag.actors.list(limit=2).search] == ids[:2]
    assert [a["id"] for a in ag.actors.list(limit=2, skip=2).search] == ids[2:4]
    assert [a["id"] for a in ag.actors.list(skip=4).search] == ids[4:]
    assert ag.actors.list(limit=0).search == []
    # offset is a field match there, not paging: nothing has a field "offset"
    assert ag.actors.list(offset=1)._metadata["totalCount"] == 0


@pytest.mark.transports("in-process", reason="agavepy 0.9.5's actors.list takes no q or skip")
def test_list_filters_with_mongo_query(ag, echo_image):
    a = ag.actors.add(body={"image": echo_image, "name": "alpha", "stateless": False})
    b = ag.actors.add(body={"image": echo_image, "name": "beta"})
    def found(q):
        return [x["id"] for x in ag.actors.list(q=q).search]
    assert found({"name": "alpha"}) == [a.id]
    assert found('{"name": {"$ne": "alpha"}}') == [b.id]
    assert found({"stateless": False}) == [a.id]
    assert found({"name": {"$regex": "^be"}}) == [b.id]
    assert set(found({"name": {"$in": ["alpha", "beta"]}})) == {a.id, b.id}


@pytest.mark.transports("in-process", reason="agavepy 0.9.5's actors.list takes no q or skip")
def test_list_with_bad_query_is_400(ag, echo_image):
    ag.actors.add(body={"image": echo_image})
    with abaco_error(400, "q"):
        ag.actors.list(q="not json")
    with abaco_error(400, "$bogus"):
        ag.actors.list(q={"name": {"$bogus": 1}})


def test_list_with_negative_limit_is_400(ag):
    with abaco_error(400, "limit"):
        ag.actors.list(limit=-1)


# -- update --------------------------------------------------------------------------

def test_update_replaces_the_description_and_resets_omitted_fields(ag, echo_image):
    actor = ag.actors.add(body={"image": echo_image, "name": "keep", "description": "old",
                                "defaultEnvironment": {"A": "1"}, "hints": ["h"], "token": True})
    time.sleep(0.002)  # let the clock move so lastUpdateTime can differ from createTime
    updated = ag.actors.update(actorId=actor.id, body={"image": echo_image})
    assert_camel_model(updated, ["_links"])
    assert updated.description == ""
    assert updated.defaultEnvironment == {}
    assert updated.hints == []
    assert updated.token == "false"
    assert updated.stateless is True
    assert updated.name == "keep"
    assert updated.owner == "testuser"
    assert updated.createTime == actor.createTime
    assert updated.lastUpdateTime > actor.lastUpdateTime
    assert ag.actors.get(actorId=actor.id).description == ""


def test_update_keeps_name_even_if_body_gives_another_and_keeps_owner(ag, echo_image):
    actor = ag.actors.add(body={"image": echo_image, "name": "original"})
    updated = ag.actors.update(actorId=actor.id, body={"image": echo_image, "name": "renamed",
                                                       "owner": "someone-else"})
    assert updated.name == "original"
    assert updated.owner == "testuser"


def test_update_with_same_image_keeps_revision(ag, echo_image):
    actor = ag.actors.add(body={"image": echo_image})
    ag.drain(5)
    _wait_status(ag, actor.id, "READY")
    updated = ag.actors.update(actorId=actor.id, body={"image": echo_image, "description": "new"})
    assert updated.revision == 1
    assert updated.status == "READY"
    assert updated.description == "new"


def test_update_with_new_image_bumps_revision_and_resubmits(ag, echo_image):
    actor = ag.actors.add(body={"image": echo_image})
    _wait_status(ag, actor.id, "READY")
    updated = ag.actors.update(actorId=actor.id, body={"image": "demo/echo:2"})
    assert updated.revision == 2
    assert updated.status == "SUBMITTED"
    assert updated.image == "demo/echo:2"
    _wait_status(ag, actor.id, "READY")
    sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "m"})
    ex = ag.wait_for_execution(actor.id, sent.executionId, timeout=5)
    ag_env = ag.actors.getExecutionLogs(actorId=actor.id, executionId=ex.id)
    assert "got m" in ag_env.logs


def test_update_new_image_runs_with_new_revision_in_environment(ag):
    seen = []
    ag.register_image("rev:1", lambda ctx: seen.append(("1", ctx["_abaco_actor_revision"])))
    ag.register_image("rev:2", lambda ctx: seen.append(("2", ctx["_abaco_actor_revision"])))
    actor = ag.actors.add(body={"image": "rev:1"})
    ag.actors.update(actorId=actor.id, body={"image": "rev:2"})
    sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "m"})
    ag.wait_for_execution(actor.id, sent.executionId, timeout=5)
    assert seen == [("2", "2")]


def test_update_with_force_bumps_revision_with_same_image(ag, echo_image):
    actor = ag.actors.add(body={"image": echo_image})
    updated = ag.actors.update(actorId=actor.id, body={"image": echo_image, "force": True})
    assert updated.revision == 2
    assert updated.status == "SUBMITTED"
    assert "force" not in updated
    _wait_status(ag, actor.id, "READY")


def test_update_without_image_is_400(ag, echo_image):
    actor = ag.actors.add(body={"image": echo_image})
    with abaco_error(400, "image"):
        ag.actors.update(actorId=actor.id, body={"description": "no image"})


def test_update_stateful_actor_to_stateless_is_400(ag, echo_image):
    actor = ag.actors.add(body={"image": echo_image, "stateless": False})
    with abaco_error(400, "stateless"):
        ag.actors.update(actorId=actor.id, body={"image": echo_image, "stateless": True})
    assert ag.actors.get(actorId=actor.id).stateless is False


def test_update_of_stateful_actor_without_stateless_false_is_400_as_in_abaco(ag, echo_image):
    # Abaco applies a PUT as the whole description: the omitted field means stateless
    actor = ag.actors.add(body={"image": echo_image, "stateless": False})
    with abaco_error(400, "not stateless", "cannot be updated to be stateless"):
        ag.actors.update(actorId=actor.id, body={"image": echo_image})
    assert ag.actors.get(actorId=actor.id).stateless is False
    assert ag.actors.update(actorId=actor.id, body={"image": echo_image, "stateless": False}).stateless is False


def test_update_of_stateless_actor_to_stateful_is_allowed(ag, echo_image):
    """Abaco refuses only stateful -> stateless."""
    actor = ag.actors.add(body={"image": echo_image})
    assert ag.actors.update(actorId=actor.id, body={"image": echo_image, "stateless": False}).stateless is False


def test_update_needs_update_permission(ag, echo_image):
    actor = ag.actors.add(body={"image": echo_image})
    ag.actors.updatePermissions(actorId=actor.id, body={"user": "reader", "level": "EXECUTE"})
    with abaco_error(400, "Not authorized"):
        ag.as_user("reader").actors.update(actorId=actor.id, body={"image": echo_image})
    ag.actors.updatePermissions(actorId=actor.id, body={"user": "reader", "level": "UPDATE"})
    updated = ag.as_user("reader").actors.update(actorId=actor.id, body={"image": echo_image, "description": "x"})
    assert updated.owner == "testuser"


def test_update_leaves_error_status_after_image_is_registered(ag):
    actor = ag.actors.add(body={"image": "later/image:1"})
    _wait_status(ag, actor.id, "ERROR")
    ag.register_image("later/image:1", echo)
    updated = ag.actors.update(actorId=actor.id, body={"image": "later/image:1", "force": True})
    assert updated.status == "SUBMITTED"
    ready = _wait_status(ag, actor.id, "READY")
    assert not ready.get("statusMessage")


def test_update_unknown_actor_is_404_naming_it(ag):
    with abaco_error(404, "Actor with identifier 'AAAAAAAAAAAAA' not found"):
        ag.actors.update(actorId="AAAAAAAAAAAAA", body={"image": "x"})


# -- delete --------------------------------------------------------------------------

def test_delete_returns_none_and_actor_is_gone(ag, echo_image):
    actor = ag.actors.add(body={"image": echo_image})
    assert ag.actors.delete(actorId=actor.id) is None
    with abaco_error(400, actor.id):
        ag.actors.get(actorId=actor.id)
    assert ag.actors.list() == []


def test_delete_twice_is_400(ag, echo_image):
    actor = ag.actors.add(body={"image": echo_image})
    ag.actors.delete(actorId=actor.id)
    with abaco_error(400, actor.id):
        ag.actors.delete(actorId=actor.id)


def test_delete_needs_update_permission(ag, echo_image):
    actor = ag.actors.add(body={"image": echo_image})
    ag.actors.updatePermissions(actorId=actor.id, body={"user": "bob", "level": "EXECUTE"})
    with abaco_error(400, "Not authorized"):
        ag.as_user("bob").actors.delete(actorId=actor.id)
    assert ag.actors.get(actorId=actor.id).id == actor.id


def test_delete_by_admin(ag, admin, echo_image):
    actor = ag.actors.add(body={"image": echo_image})
    assert admin.actors.delete(actorId=actor.id) is None
    assert ag.actors.list() == []


def test_delete_purges_mailbox_permissions_nonces_logs_and_stops_workers(ag, admin):
    gate = Gate()
    ag.register_image("gate:1", gate)
    actor = ag.actors.add(body={"image": "gate:1", "stateless": False})
    ag.actors.updatePermissions(actorId=actor.id, body={"user": "friend", "level": "READ"})
    nonce = ag.actors.addNonce(actorId=actor.id, body={"level": "READ"})
    # one finished execution with logs, one running, two queued
    gate.release.set()
    done = ag.actors.sendMessage(actorId=actor.id, body={"message": "first"})
    ag.wait_for_execution(actor.id, done.executionId, timeout=5)
    gate.release.clear()
    running = ag.actors.sendMessage(actorId=actor.id, body={"message": "running"})
    assert gate.wait_entered(2)
    queued = [ag.actors.sendMessage(actorId=actor.id, body={"message": f"q{i}"}) for i in range(2)]
    assert ag.actors.getMessages(actorId=actor.id).messages == 2
    try:
        ag.actors.delete(actorId=actor.id)
    finally:
        gate.release.set()
    store = ag.store
    for kind in ("messages", "permissions", "nonces", "logs", "workers"):
        assert store.by_actor(kind, actor.id) == [], kind
    assert ag.engine.workers_of(actor.id) == []
    assert ag.engine.queued(actor.id) == 0
    assert store.get("nonces", nonce.id) is None
    # executions are kept; the running one was force-quit and still ended COMPLETE
    kept = {e["id"]: e for e in store.all("executions")}
    assert done.executionId in kept and running.executionId in kept
    assert kept[running.executionId]["status"] == "COMPLETE"
    assert gate.entered == ["first", "running"]  # queued messages never ran
    for sent in queued:
        assert store.get("messages", sent.executionId) is None


def test_delete_keeps_aliases_which_then_dangle(ag, echo_image):
    actor = ag.actors.add(body={"image": echo_image})
    ag.actors.addAlias(body={"alias": "dangling", "actorId": actor.id})
    ag.actors.delete(actorId=actor.id)
    alias = ag.actors.getAlias(alias="dangling")
    assert alias.actorId == actor.id
    assert [a.alias for a in ag.actors.listAliases()] == ["dangling"]
    with abaco_error(404, "dangling"):
        ag.actors.get(actorId="dangling")


def test_delete_of_idle_actor_does_not_hang(ag, echo_image):
    actor = ag.actors.add(body={"image": echo_image})
    _wait_status(ag, actor.id, "READY")
    started = time.monotonic()
    ag.actors.delete(actorId=actor.id)
    assert time.monotonic() - started < 5


def test_emulator_is_a_context_manager_and_close_is_idempotent():
    with AbacoEmulator(runner="local") as emulator:
        emulator.register_image("x:1", echo)
        actor = emulator.actors.add(body={"image": "x:1"})
        assert isinstance(actor, AttrDict)
    emulator.close()
    assert emulator.engine.workers_of(actor.id) == []


def test_default_user_is_an_ordinary_user_named_testuser(ag, echo_image):
    assert ag.user == "testuser"
    with abaco_error(400, "privileged"):
        ag.actors.add(body={"image": echo_image, "privileged": True})


def test_unknown_runner_name_is_rejected():
    with pytest.raises(ValueError):
        AbacoEmulator(runner="nope")
