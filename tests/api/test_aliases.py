"""Aliases: creation rules, and using an alias wherever an actor id is used."""
from __future__ import annotations

import pytest

from abaco_checks import abaco_error, assert_camel_model, echo
from api_transports import api_path

RESERVED = ["executions", "nonces", "logs", "messages", "adapters", "admin"]
FORBIDDEN = list('\\":/?#[]@!$&\'()*+,;=') + [" "]


@pytest.fixture
def actor(ag):
    ag.register_image("echo:1", echo)
    return ag.actors.add(body={"image": "echo:1", "stateless": False})


@pytest.fixture
def alias(ag, actor):
    ag.actors.addAlias(body={"alias": "my-echo", "actorId": actor.id})
    return "my-echo"


def test_add_alias_returns_the_alias_with_links(ag, actor):
    created = ag.actors.addAlias(body={"alias": "hello_world-1.0", "actorId": actor.id})
    assert_camel_model(created, ["alias", "actorId", "owner", "_links"])
    assert created.alias == "hello_world-1.0"
    assert created.actorId == actor.id
    assert created.owner == "testuser"
    assert created._links["self"].endswith(f"{api_path(ag)}/aliases/hello_world-1.0")
    assert created._links["actor"].endswith(f"{api_path(ag)}/{actor.id}")
    assert created._links["owner"].endswith("/testuser")


def test_add_alias_accepts_json_text(ag, actor):
    created = ag.actors.addAlias(body='{"alias": "from-text", "actorId": "%s"}' % actor.id)
    assert created.alias == "from-text"


def test_get_and_list_aliases(ag, actor, alias):
    got = ag.actors.getAlias(alias=alias)
    assert_camel_model(got, ["alias", "actorId", "_links"])
    assert got.actorId == actor.id
    listed = ag.actors.listAliases()
    assert isinstance(listed, list)
    assert [a.alias for a in listed] == [alias]
    assert_camel_model(listed[0], ["alias"])


def test_list_aliases_shows_every_alias_of_the_tenant_as_abaco_does(ag, admin, alias):
    """Abaco's AliasesResource.get checks no permission: anyone in the tenant lists every alias
    (reading one, or the actor behind it, still needs a permission)."""
    assert [a.alias for a in ag.as_user("stranger").actors.listAliases()] == [alias]
    assert [a.alias for a in admin.actors.listAliases()] == [alias]
    with abaco_error(400, "you do not have access to this alias"):
        ag.as_user("stranger").actors.getAlias(alias=alias)


def test_delete_alias_returns_none_and_the_alias_is_gone(ag, actor, alias):
    assert ag.actors.deleteAlias(alias=alias) is None
    with abaco_error(404, alias):
        ag.actors.getAlias(alias=alias)
    with abaco_error(404, alias):
        ag.actors.get(actorId=alias)
    assert ag.actors.listAliases() == []
    assert ag.actors.get(actorId=actor.id).id == actor.id
    ag.actors.addAlias(body={"alias": alias, "actorId": actor.id})


def test_unknown_alias_is_404(ag):
    with abaco_error(404, "nope"):
        ag.actors.getAlias(alias="nope")
    with abaco_error(404, "nope"):
        ag.actors.deleteAlias(alias="nope")


def test_duplicate_alias_is_400_already_exists(ag, actor, alias):
    other = ag.actors.add(body={"image": "echo:1"})
    with abaco_error(400, f"Alias {alias} already exists.") as caught:
        ag.actors.addAlias(body={"alias": alias, "actorId": other.id})
    assert caught.message == f"Alias {alias} already exists."
    assert ag.actors.getAlias(alias=alias).actorId == actor.id


@pytest.mark.parametrize("word", RESERVED)
def test_reserved_words_are_not_aliases(ag, actor, word):
    with abaco_error(400, word):
        ag.actors.addAlias(body={"alias": word, "actorId": actor.id})


@pytest.mark.parametrize("char", FORBIDDEN)
def test_forbidden_characters_are_not_allowed_in_aliases(ag, actor, char):
    with abaco_error(400, "alias"):
        ag.actors.addAlias(body={"alias": f"bad{char}name", "actorId": actor.id})
    assert ag.actors.listAliases() == []


def test_alias_that_decodes_as_an_abaco_id_is_400(ag, actor):
    from abaco_emulator.models import new_id
    with abaco_error(400) as caught:
        ag.actors.addAlias(body={"alias": new_id(), "actorId": actor.id})
    assert caught.message == "Invalid alias description. Alias cannot be an Abaco hash id."


def test_alias_that_only_looks_like_an_id_is_allowed(ag, actor):
    """Abaco tells ids from aliases by decoding them: 13 letters and digits are no id."""
    assert ag.actors.addAlias(body={"alias": "ABCdef1234567", "actorId": actor.id}).alias == "ABCdef1234567"


def test_alias_that_is_an_existing_actor_id_is_400(ag, actor):
    other = ag.actors.add(body={"image": "echo:1"})
    with abaco_error(400, "Alias cannot be an Abaco hash id."):
        ag.actors.addAlias(body={"alias": other.id, "actorId": actor.id})


@pytest.mark.parametrize("body, fragment", [
    ({"actorId": "X"}, "alias"),
    ({"alias": "ok"}, "actorId"),
    ({"alias": "", "actorId": "X"}, "alias"),
    ({"alias": 5, "actorId": "X"}, "alias"),
    ({"alias": "ok", "actorId": 5}, "actorId"),
    pytest.param(["ok"], "object", marks=pytest.mark.transports("in-process", reason="agavepy 0.9.5 joins a list body with commas: it cannot send a JSON array")),
])
def test_bad_alias_requests_are_400(ag, actor, body, fragment):
    if isinstance(body, dict) and body.get("actorId") == "X":
        body = dict(body, actorId=actor.id)
    with abaco_error(400, fragment):
        ag.actors.addAlias(body=body)


def test_alias_for_unknown_actor_is_404(ag):
    with abaco_error(404) as caught:
        ag.actors.addAlias(body={"alias": "ok", "actorId": "AAAAAAAAAAAAA"})
    assert caught.message == "No actor found with id: AAAAAAAAAAAAA."


def test_adding_an_alias_needs_update_on_the_actor(ag, actor):
    ag.actors.updatePermissions(actorId=actor.id, body={"user": "runner", "level": "EXECUTE"})
    with abaco_error(400, "Not authorized"):
        ag.as_user("runner").actors.addAlias(body={"alias": "theirs", "actorId": actor.id})
    ag.actors.updatePermissions(actorId=actor.id, body={"user": "runner", "level": "UPDATE"})
    created = ag.as_user("runner").actors.addAlias(body={"alias": "theirs", "actorId": actor.id})
    assert created.owner == "runner"


def test_deleting_an_alias_needs_update_on_the_alias(ag, alias):
    with abaco_error(400, "Not authorized"):
        ag.as_user("stranger").actors.deleteAlias(alias=alias)
    assert ag.actors.getAlias(alias=alias).alias == alias


def test_permission_on_an_alias_does_not_grant_the_actor(ag, actor):
    ag.actors.updatePermissions(actorId=actor.id, body={"user": "maker", "level": "UPDATE"})
    ag.as_user("maker").actors.addAlias(body={"alias": "makers", "actorId": actor.id})
    ag.actors.updatePermissions(actorId=actor.id, body={"user": "maker", "level": "NONE"})
    # maker owns the alias but no longer has any level on the actor
    assert ag.as_user("maker").actors.getAlias(alias="makers").alias == "makers"
    with abaco_error(400, "Not authorized"):
        ag.as_user("maker").actors.get(actorId="makers")


# -- an alias wherever an actor id is used -----------------------------------------------

def test_alias_works_in_place_of_the_actor_id_everywhere(ag, actor, alias):
    a = ag.actors
    assert a.get(actorId=alias).id == actor.id
    sent = a.sendMessage(actorId=alias, body={"message": "via alias"})
    ex = ag.wait_for_execution(alias, sent.executionId, timeout=5)
    assert ex.actorId == actor.id
    assert a.getExecution(actorId=alias, executionId=ex.id).id == ex.id
    assert "got via alias" in a.getExecutionLogs(actorId=alias, executionId=ex.id).logs
    assert a.getOneExecutionResult(actorId=alias, executionId=ex.id).content == b"via alias"
    assert a.listExecutions(actorId=alias).actorId == actor.id
    binary = a.sendBinaryMessage(actorId=alias, message=b"\x01")
    ag.wait_for_execution(actor.id, binary.executionId, timeout=5)
    assert a.getMessages(actorId=alias).messages == 0
    purged = a.deleteMessages(actorId=alias)
    assert purged["msg"] == "Actor mailbox purged." and purged["_links"]["self"].endswith(f"/{actor.id}/messages")
    a.updateState(actorId=alias, body={"via": "alias"})
    assert a.getState(actorId=alias).state == {"via": "alias"}
    assert a.getState(actorId=actor.id).state == {"via": "alias"}
    a.updatePermissions(actorId=alias, body={"user": "friend", "level": "READ"})
    assert a.getPermissions(actorId=alias)["friend"] == "READ"
    assert ag.as_user("friend").actors.get(actorId=actor.id).id == actor.id
    workers = a.listWorkers(actorId=alias)
    assert a.getWorker(actorId=alias, workerId=workers[0].id).id == workers[0].id
    assert a.update(actorId=alias, body={"image": "echo:1", "stateless": False, "description": "d"}).id == actor.id
    assert a.get(actorId=actor.id).description == "d"
    nonce = a.addNonce(actorId=alias, body={"level": "READ"})
    assert a.getNonce(actorId=alias, nonceId=nonce.id).id == nonce.id
    assert [n.id for n in a.listNonces(actorId=alias)] == [nonce.id]
    assert a.deleteNonce(actorId=alias, nonceId=nonce.id) is None
    assert a.delete(actorId=alias) is None
    with abaco_error(400, actor.id):
        a.get(actorId=actor.id)


@pytest.mark.transports("in-process", reason="agavepy 0.9.5 has no nonce= argument")
def test_a_nonce_made_through_an_alias_is_the_actors_and_redeems_with_its_id(ag, actor, alias):
    """As on Abaco: /actors/{alias}/nonces are the actor's nonces, and a nonce is checked
    against the identifier of the URL (an actor id needs an actor nonce, an alias an
    alias nonce, made on /actors/aliases/{alias}/nonces)."""
    nonce = ag.actors.addNonce(actorId=alias, body={"level": "EXECUTE"})
    assert nonce.actorId == actor.id and "alias" not in nonce
    stranger = ag.as_user("stranger")
    sent = stranger.actors.sendMessage(actorId=actor.id, body={"message": "m"}, nonce=nonce.id)
    assert ag.wait_for_execution(actor.id, sent.executionId, timeout=5).executor == "testuser"
    with abaco_error(400, "Nonce does not exist."):
        stranger.actors.sendMessage(actorId=alias, body={"message": "m"}, nonce=nonce.id)


def test_alias_wait_for_execution_and_drain(ag, actor, alias):
    sent = ag.actors.sendMessage(actorId=alias, body={"message": "m"})
    assert ag.wait_for_execution(alias, sent.executionId, timeout=5).status == "COMPLETE"
