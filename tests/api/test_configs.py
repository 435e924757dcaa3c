"""Actor configs: Abaco's /actors/configs routes, their rules, and `_actor_configs` in executions.

The rules are those of Abaco's ActorConfig*Resource and auth.authorization: every user of
a tenant lists its configs, anyone may create one (the UPDATE check on the named actors is
made and ignored there), one config is read with READ and changed with UPDATE on it.
"""
from __future__ import annotations

import ast
import logging

import pytest
import requests

from abaco_emulator.auth import Caller
from abaco_emulator.client import ActorsClient, ConfigsClient
from abaco_emulator.remote import RemoteActors, RemoteConfigs

from abaco_checks import abaco_error, jwt

RESERVED = ["executions", "nonces", "logs", "messages", "adapters", "admin", "utilization"]
FORBIDDEN = list(":/?#[]@!$&'()*+,;=") + [" "]
HELP = {
    "name": "Name of the config",
    "value": "The value of the config; JSON Serializable. Set as the ENV VAR value.",
    "isSecret": "Whether the config should be encrypted at rest and not retrievable.",
    "actors": "List of actor IDs or aliases that should get this config/secret.",
}
SECRET = "s3cr3t-p4ssw0rd-for-the-db"


def record_environment(seen: list):
    """A handler that keeps the `_actor_configs` each execution got."""
    def handler(ctx):
        seen.append(ctx["_actor_configs"])
    return handler


@pytest.fixture
def seen():
    return []


@pytest.fixture
def actor(ag, seen):
    ag.register_image("configs-reader:1", record_environment(seen))
    return ag.actors.add(body={"image": "configs-reader:1"})


@pytest.fixture
def other_actor(ag, seen):
    ag.register_image("configs-reader:1", record_environment(seen))
    return ag.actors.add(body={"image": "configs-reader:1"})


def config(name="db", value="the value", secret=False, actors=""):
    return {"name": name, "value": value, "isSecret": secret, "actors": actors}


def configs_seen_by(ag, actor_id, seen, **send):
    """What `_actor_configs` an execution of the actor was given, parsed back into a dict."""
    sent = ag.actors.sendMessage(actorId=actor_id, body={"message": "read your configs"}, **send)
    execution = ag.wait_for_execution(actor_id, sent.executionId)
    assert execution.status == "COMPLETE", execution
    return ast.literal_eval(seen[-1])


class OtherTenant:
    """A user of another tenant, through the transport under test."""

    def __init__(self, ag, tenant: str, user: str = "outsider") -> None:
        self._ag = ag
        if hasattr(ag, "server"):  # over HTTP: the tenant is named by the JWT header's suffix
            headers = {f"X-Jwt-Assertion-{tenant}": jwt(user)}
            self.configs = RemoteConfigs(ag.server.url)
            self.actors = RemoteActors(ag.server.url)
            for client in (self.configs, self.actors):
                client._session.headers.update(headers)
        else:
            caller = Caller(user, frozenset(), tenant)
            self.configs = ConfigsClient(ag.service, caller, ag.dialect)
            self.actors = ActorsClient(ag.service, caller, ag.dialect)

    def add_alias(self, alias: str, actor_id: str) -> None:
        body = {"alias": alias, "actorId": actor_id}
        if isinstance(self.actors, RemoteActors):  # the CLI's client has no alias methods
            answer = self.actors._session.post(self.actors.api_url + "/aliases", json=body, timeout=30)
            answer.raise_for_status()
        else:
            self.actors.addAlias(body=body)

    def run(self, actor_id: str, seen: list) -> dict:
        sent = self.actors.sendMessage(actorId=actor_id, body={"message": "read your configs"})
        self._ag.engine.wait_for(sent.executionId, 30)
        return ast.literal_eval(seen[-1])


# -- creating and reading ------------------------------------------------------------------

def test_add_config_answers_abaco_fields_with_actors_as_the_string_sent(ag, actor):
    ag.actors.addAlias(body={"alias": "reader", "actorId": actor.id})
    created = ag.configs.add(body=config(actors=f"{actor.id}, reader"))
    assert dict(created) == {"name": "db", "value": "the value", "isSecret": False,
                             "actors": f"{actor.id}, reader"}


def test_get_config_and_list_configs(ag, actor):
    ag.configs.add(body=config("first", actors=actor.id))
    ag.configs.add(body=config("second", "2", actors=actor.id))
    assert ag.configs.get(configName="second").value == "2"
    assert [c.name for c in ag.configs.list()] == ["first", "second"]


def test_every_user_of_the_tenant_lists_every_config_as_abaco_does(ag, actor):
    ag.configs.add(body=config(actors=actor.id))
    assert [c.name for c in ag.as_user("stranger").configs.list()] == ["db"]
    with abaco_error(400, "You do not have sufficient access to this actor config."):
        ag.as_user("stranger").configs.get(configName="db")


def test_a_config_value_that_is_not_a_string_is_kept_as_abaco_reads_it_with_type_str(ag, actor):
    created = ag.configs.add(body=config(value={"host": "db", "port": 5432}, actors=actor.id))
    assert created.value == "{'host': 'db', 'port': 5432}"
    assert ag.configs.add(body=config("n", value=12, actors=actor.id)).value == "12"


def test_is_secret_may_be_a_boolean_string_as_reqparse_reads_it(ag, actor):
    assert ag.configs.add(body=config("a", secret="true", actors=actor.id)).isSecret is True
    assert ag.configs.add(body=config("b", secret="False", actors=actor.id)).isSecret is False
    with abaco_error(400, "isSecret"):
        ag.configs.add(body=config("c", secret="maybe", actors=actor.id))


def test_a_missing_config_is_unknown_to_a_user_and_not_found_for_an_admin(ag, admin):
    with abaco_error(400, "Config DEV-DEVELOP_nothing does not exist"):
        ag.configs.get(configName="nothing")
    with abaco_error(404, "No config found: nothing."):
        admin.configs.get(configName="nothing")
    with abaco_error(404, "No config found: nothing."):
        admin.configs.update(configName="nothing", body=config("nothing"))
    with abaco_error(404, "No config found with name: nothing."):
        admin.configs.delete(configName="nothing")
    with abaco_error(404, "Config DEV-DEVELOP_nothing does not exist"):
        admin.configs.getPermissions(configName="nothing")


# -- what a body must hold -------------------------------------------------------------------

@pytest.mark.parametrize("missing", ["name", "value", "isSecret", "actors"])
def test_each_field_is_required_on_create(ag, actor, missing):
    body = config(actors=actor.id)
    del body[missing]
    with abaco_error(400, f"Invalid config description. Missing required field: {{'{missing}': "
                          f"'{HELP[missing]}'}}"):
        ag.configs.add(body=body)


@pytest.mark.parametrize("missing", ["name", "isSecret"])
def test_each_field_is_required_on_update_too_in_abaco_words(ag, actor, missing):
    ag.configs.add(body=config(actors=actor.id))
    body = config(actors=actor.id)
    del body[missing]
    with abaco_error(400, "Invalid alias description. Could not determine if required fields are present. "
                          f"Is the body valid JSON? Details: {{'{missing}': '{HELP[missing]}'}}"):
        ag.configs.update(configName="db", body=body)


@pytest.mark.parametrize("body", [None, {}, {"name": None, "value": "v", "isSecret": True, "actors": "x"},
                                  {"name": ["db"], "value": "v", "isSecret": True, "actors": "x"},
                                  {"name": "db", "value": "v", "isSecret": True, "actors": 7}],
                         ids=["none", "empty", "null-name", "list-name", "number-actors"])
def test_a_bad_body_is_a_400(ag, body):
    with abaco_error(400, "config description"):
        ag.configs.add(body=body)


@pytest.mark.parametrize("word", RESERVED)
def test_reserved_words_cannot_name_a_config(ag, actor, word):
    with abaco_error(400, f"{word} is a reserved word. The following reserved words cannot be used for a config: "
                          f"{RESERVED}."):
        ag.configs.add(body=config(word, actors=actor.id))


@pytest.mark.parametrize("char", FORBIDDEN)
def test_forbidden_characters_cannot_be_in_a_config_name(ag, actor, char):
    with abaco_error(400, f"'{char}' is a forbidden character. The following characters cannot be used for a "
                          f"config name: [{''.join(FORBIDDEN)}]."):
        ag.configs.add(body=config(f"my{char}config", actors=actor.id))


def test_a_config_name_is_unique_in_its_tenant(ag, actor):
    ag.configs.add(body=config(actors=actor.id))
    with abaco_error(400, "Config db already exists; please choose another name for your config"):
        ag.as_user("someone-else").configs.add(body=config(actors=actor.id))


def test_an_empty_name_is_refused(ag, actor):
    with abaco_error(400, "name of a config cannot be empty"):
        ag.configs.add(body=config("", actors=actor.id))


# -- the actors a config names ------------------------------------------------------------------

@pytest.mark.parametrize("actors", ["henry", "{id},henry", "{id},"], ids=["unknown", "one-unknown", "empty-part"])
def test_every_named_actor_must_be_an_actor_or_alias_of_the_tenant(ag, actor, actors):
    named = actors.format(id=actor.id)
    unknown = named.split(",")[-1]
    with abaco_error(404, f"No actor or alias found with id: {unknown}."):
        ag.configs.add(body=config(actors=named))
    assert ag.configs.list() == []


def test_the_actors_are_checked_on_update_too(ag, actor):
    ag.configs.add(body=config(actors=actor.id))
    with abaco_error(404, "No actor or alias found with id: henry."):
        ag.configs.update(configName="db", body=config(actors="henry"))
    assert ag.configs.get(configName="db").actors == actor.id


def test_anyone_may_give_a_config_to_an_actor_they_cannot_update_as_abaco_ignores_that_check(ag, actor):
    """Abaco's POST asks check_permissions(UPDATE) for each named actor and drops the answer."""
    stranger = ag.as_user("stranger")
    created = stranger.configs.add(body=config("foreign", actors=actor.id))
    assert created.actors == actor.id
    assert stranger.configs.getPermissions(configName="foreign") == {"stranger": "UPDATE"}


# -- updating, deleting, permissions -----------------------------------------------------------------

def test_update_replaces_value_secrecy_and_actors_and_keeps_the_name(ag, actor, other_actor):
    ag.configs.add(body=config(actors=actor.id))
    updated = ag.configs.update(configName="db", body=config("renamed", "new", False, other_actor.id))
    assert dict(updated) == {"name": "db", "value": "new", "isSecret": False, "actors": other_actor.id}
    assert ag.configs.get(configName="db").value == "new"
    with abaco_error(400, "Config DEV-DEVELOP_renamed does not exist"):
        ag.configs.get(configName="renamed")


def test_delete_removes_the_config_and_its_permissions(ag, actor):
    ag.configs.add(body=config(actors=actor.id))
    assert ag.configs.delete(configName="db") is None
    assert ag.configs.list() == []
    with abaco_error(400, "Config DEV-DEVELOP_db does not exist"):
        ag.configs.get(configName="db")
    assert not [p for p in ag.store.permissions.all() if "db" in p["actor_id"]]
    another = ag.as_user("another")
    another.configs.add(body=config(actors=actor.id))  # the name is free again, and nothing of the old is left
    assert another.configs.getPermissions(configName="db") == {"another": "UPDATE"}
    with abaco_error(400, "You do not have sufficient access to this actor config."):
        ag.configs.get(configName="db")


def test_read_on_a_config_reads_it_update_changes_and_shares_it(ag, actor):
    ag.configs.add(body=config(actors=actor.id))
    bob = ag.as_user("bob")
    assert ag.configs.updatePermissions(configName="db", body={"user": "bob", "level": "READ"}) == \
        {"testuser": "UPDATE", "bob": "READ"}
    assert bob.configs.get(configName="db").name == "db"
    assert bob.configs.getPermissions(configName="db")["bob"] == "READ"
    for change in (lambda: bob.configs.update(configName="db", body=config(actors=actor.id)),
                   lambda: bob.configs.delete(configName="db"),
                   lambda: bob.configs.updatePermissions(configName="db", body={"user": "bob", "level": "UPDATE"})):
        with abaco_error(400, "You do not have sufficient access to this actor config."):
            change()
    ag.configs.updatePermissions(configName="db", body={"user": "bob", "level": "UPDATE"})
    assert bob.configs.update(configName="db", body=config(value="bob's", actors=actor.id)).value == "bob's"


def test_a_config_shared_with_abaco_world_is_read_by_anyone(ag, actor):
    ag.configs.add(body=config(actors=actor.id))
    ag.configs.updatePermissions(configName="db", body={"user": "ABACO_WORLD", "level": "READ"})
    assert ag.as_user("anyone").configs.get(configName="db").value == "the value"


def test_admins_read_and_change_any_config(ag, admin, actor):
    ag.configs.add(body=config(actors=actor.id))
    assert admin.configs.get(configName="db").name == "db"
    assert admin.configs.update(configName="db", body=config(value="by admin", actors=actor.id)).value == "by admin"
    assert admin.configs.delete(configName="db") is None


def test_an_invalid_permission_level_is_refused(ag, actor):
    ag.configs.add(body=config(actors=actor.id))
    with abaco_error(400, "Invalid permission level: OWNER."):
        ag.configs.updatePermissions(configName="db", body={"user": "bob", "level": "OWNER"})


def test_config_permissions_are_apart_from_those_of_an_alias_of_the_same_name(ag, actor):
    ag.actors.addAlias(body={"alias": "shared-name", "actorId": actor.id})
    ag.as_user("carol").configs.add(body=config("shared-name", actors=actor.id))
    with abaco_error(400, "You do not have sufficient access to this actor config."):
        ag.configs.get(configName="shared-name")
    assert ag.actors.getAlias(alias="shared-name").actorId == actor.id
    with abaco_error(400, "you do not have access to this alias"):
        ag.as_user("carol").actors.getAlias(alias="shared-name")


def test_configs_is_a_route_word_so_no_alias_may_be_configs(ag, actor):
    with abaco_error(400, "configs is a reserved word"):
        ag.actors.addAlias(body={"alias": "configs", "actorId": actor.id})


# -- tenants --------------------------------------------------------------------------------

def test_a_tenant_never_sees_another_tenants_configs(ag, actor):
    ag.configs.add(body=config(actors=actor.id))
    outsider = OtherTenant(ag, "OTHER-TENANT")
    assert outsider.configs.list() == []
    with abaco_error(400, "Config OTHER-TENANT_db does not exist"):
        outsider.configs.get(configName="db")
    with abaco_error(404, f"No actor or alias found with id: {actor.id}."):
        outsider.configs.add(body=config("theirs", actors=actor.id))


def test_the_same_name_may_be_a_config_in_each_tenant_and_each_reaches_its_own_actors(ag, actor, seen):
    """An alias is unique in its tenant only: a config naming `reader` reaches the `reader` of
    its own tenant, never another tenant's actor of that alias."""
    ag.actors.addAlias(body={"alias": "reader", "actorId": actor.id})
    ag.configs.add(body=config("db", "ours", actors="reader"))
    outsider = OtherTenant(ag, "OTHER-TENANT")
    theirs = outsider.actors.add(body={"image": "configs-reader:1"})
    outsider.add_alias("reader", theirs.id)
    outsider.configs.add(body=config("db", "theirs", actors="reader"))
    assert [c.value for c in ag.configs.list()] == ["ours"]
    assert [c.value for c in outsider.configs.list()] == ["theirs"]
    assert configs_seen_by(ag, actor.id, seen) == {"db": "ours"}
    assert outsider.run(theirs.id, seen) == {"db": "theirs"}


# -- what an execution sees -------------------------------------------------------------------

def test_an_execution_gets_the_configs_that_name_its_actor_by_id_or_alias(ag, actor, other_actor, seen):
    ag.actors.addAlias(body={"alias": "reader", "actorId": actor.id})
    ag.configs.add(body=config("by_id", "1", actors=actor.id))
    ag.configs.add(body=config("by_alias", "2", actors=f"{other_actor.id}, reader"))
    ag.configs.add(body=config("not_mine", "3", actors=other_actor.id))
    assert configs_seen_by(ag, actor.id, seen) == {"by_id": "1", "by_alias": "2"}


def test_actor_configs_is_the_python_repr_of_a_dict_as_docker_py_writes_it(ag, actor, seen):
    ag.configs.add(body=config("a", "x", actors=actor.id))
    ag.configs.add(body=config("b", "it's", actors=actor.id))
    configs_seen_by(ag, actor.id, seen)
    assert seen[-1] == str({"a": "x", "b": "it's"})


def test_an_actor_without_configs_gets_an_empty_dict(ag, actor, seen):
    assert configs_seen_by(ag, actor.id, seen) == {}
    assert seen[-1] == "{}"


def test_a_secret_is_shown_sealed_and_reaches_the_execution_in_clear(ag, actor, seen):
    created = ag.configs.add(body=config("password", SECRET, True, actor.id))
    assert created.isSecret is True
    assert created.value != SECRET and created.value.startswith("gAAAAA")  # a Fernet token, as Abaco shows
    assert ag.configs.get(configName="password").value == created.value
    assert SECRET not in str(ag.configs.list())
    assert configs_seen_by(ag, actor.id, seen) == {"password": SECRET}


def test_any_text_may_be_a_secret_even_text_that_is_not_utf8_encodable(ag, actor, seen):
    odd = "caf\u00e9 \U0001f4a5 lone \ud800 surrogate"
    ag.configs.add(body=config("odd", odd, True, actor.id))
    assert configs_seen_by(ag, actor.id, seen) == {"odd": odd}


def test_a_config_made_secret_by_an_update_is_sealed_then(ag, actor, seen):
    ag.configs.add(body=config("password", "plain", False, actor.id))
    updated = ag.configs.update(configName="password", body=config("password", SECRET, True, actor.id))
    assert updated.value != SECRET
    assert configs_seen_by(ag, actor.id, seen) == {"password": SECRET}


def test_a_message_variable_named_actor_configs_is_replaced_by_the_workers(ag, actor, seen):
    ag.configs.add(body=config("a", "x", actors=actor.id))
    assert configs_seen_by(ag, actor.id, seen, environment={"_actor_configs": "forged"}) == {"a": "x"}


def test_a_secret_is_never_written_to_the_emulators_logs(ag, actor, seen, caplog):
    caplog.set_level(logging.DEBUG)
    ag.configs.add(body=config("password", SECRET, True, actor.id))
    configs_seen_by(ag, actor.id, seen)
    ag.configs.update(configName="password", body=config("password", SECRET, True, actor.id))
    assert SECRET not in caplog.text
    assert all(SECRET not in str(record.args) for record in caplog.records)


# -- on the wire -------------------------------------------------------------------------------

WIRE = pytest.mark.transports("agavepy", reason="form bodies, envelope messages and route prefixes exist only "
                                                "over HTTP")


def _url(ag, path, prefix="/actors/v2"):
    return ag.server.url + prefix + path


def _headers(ag):
    return dict(ag.configs._session.headers)


@WIRE
@pytest.mark.parametrize("prefix", ["/actors/v2", "/actors"])
def test_every_route_answers_abaco_messages_under_both_prefixes(ag, actor, prefix):
    h = _headers(ag)
    calls = [
        ("POST", "/configs", config(actors=actor.id), "Actor config created successfully."),
        ("GET", "/configs", None, "Actor Configs retrieved successfully."),
        ("GET", "/configs/db", None, "Config retrieved successfully."),
        ("PUT", "/configs/db", config(value="2", actors=actor.id), "Actor config updated successfully."),
        ("GET", "/configs/db/permissions", None, "Permissions retrieved successfully."),
        ("POST", "/configs/db/permissions", {"user": "bob", "level": "READ"}, "Permission added successfully."),
        ("DELETE", "/configs/db", None, "Actor config db deleted successfully."),
    ]
    for method, path, body, message in calls:
        answer = requests.request(method, _url(ag, path, prefix), json=body, headers=h, timeout=30)
        assert answer.status_code == 200, (method, path, answer.text)
        envelope = answer.json()
        assert envelope["message"] == message and envelope["status"] == "success", (method, path)


@WIRE
def test_form_bodies_are_read_as_abacos_reqparse_reads_them(ag, actor, seen):
    h = _headers(ag)
    created = requests.post(_url(ag, "/configs", "/actors"), headers=h, timeout=30,
                            data={"name": "form", "value": SECRET, "isSecret": True, "actors": actor.id})
    assert created.status_code == 200, created.text
    assert created.json()["result"]["isSecret"] is True
    updated = requests.put(_url(ag, "/configs/form", "/actors"), headers=h, timeout=30,
                           data={"name": "form", "value": "plain", "isSecret": "False",
                                 "actors": f"{actor.id},{actor.id}"})
    assert updated.json()["result"] == {"name": "form", "value": "plain", "isSecret": False,
                                        "actors": f"{actor.id},{actor.id}"}
    missing = requests.post(_url(ag, "/configs"), headers=h, timeout=30, data={"name": "x", "value": "v"})
    assert missing.status_code == 400
    assert missing.json()["message"].startswith("Invalid config description. Missing required field: {'")


@WIRE
def test_configs_is_never_taken_for_an_actor_id(ag):
    h = _headers(ag)
    for prefix in ("/actors/v2", "/actors"):
        answer = requests.delete(_url(ag, "/configs", prefix), headers=h, timeout=30)
        assert answer.status_code == 405, answer.text
        assert requests.get(_url(ag, "/configs", prefix), headers=h, timeout=30).json()["result"] == []


@WIRE
@pytest.mark.parametrize("data,content_type", [
    (b"{not json", "application/json"),
    (b"[1, 2]", "application/json"),
    (b"\xff\xfe", "application/json"),
    (b"[" * 5000 + b"]" * 5000, "application/json"),
    (b'{"name": "a\\u0000b", "value": "v", "isSecret": "yes", "actors": "x"}', "application/json"),
    (b"name=%00&value=&isSecret=&actors=", "application/x-www-form-urlencoded"),
    (b"name=" + b"n" * 100000 + b"&value=v&isSecret=false&actors=x", "application/x-www-form-urlencoded"),
], ids=["garbage", "list", "not-utf8", "deep", "nul-name", "empty-form", "long-name"])
def test_bad_bodies_never_make_a_server_error(ag, data, content_type):
    headers = {**_headers(ag), "Content-Type": content_type}
    for method, path in (("POST", "/configs"), ("PUT", "/configs/db"),
                         ("POST", "/configs/db/permissions")):
        answer = requests.request(method, _url(ag, path), data=data, headers=headers, timeout=30)
        assert 400 <= answer.status_code < 500, (method, path, answer.status_code, answer.text)
        assert answer.json()["status"] == "error"
