"""Validation of actor descriptions: clear 400s naming the field, never another exception."""
from __future__ import annotations

import pytest
import requests

from abaco_emulator import AbacoEmulator

from abaco_checks import abaco_error, echo

PRIVILEGED = ["Internal/abaco-privileged"]
ADMIN = ["Internal/abaco-admin"]


@pytest.fixture(autouse=True)
def image(ag):
    ag.register_image("echo:1", echo)
    return "echo:1"


def test_missing_image_is_400_naming_image(ag):
    with abaco_error(400, "image"):
        ag.actors.add(body={"name": "no image"})
    assert ag.actors.list() == []


@pytest.mark.parametrize("body", [{}, {"image": ""}, {"image": "   "}, {"image": None}])
def test_empty_or_null_image_is_400(ag, body):
    with abaco_error(400, "image"):
        ag.actors.add(body=body)


@pytest.mark.parametrize("field, value", [
    ("image", 5),
    ("description", 5),
    ("stateless", "yes"),
    ("privileged", "no"),
    ("defaultEnvironment", "A=1"),
    ("defaultEnvironment", ["A"]),
    ("name", 3),
    ("hints", "tag"),
    ("hints", [1]),
    ("useContainerUid", "true"),
    ("mounts", "x"),
    ("link", 1),
    ("cronOn", "on"),
])
def test_wrong_types_are_400_naming_the_field(ag, field, value):
    body = {"image": "echo:1", field: value}
    with abaco_error(400, field):
        ag.actors.add(body=body)
    assert ag.actors.list() == []


@pytest.mark.parametrize("body", [
    pytest.param(None, marks=pytest.mark.transports("in-process", reason="agavepy 0.9.5 refuses add without body= "
                                                                         "before any request")),
    [], ["image"], 5, "[1, 2]", '"image"', "not json"])
def test_body_that_is_not_an_object_is_400(ag, body):
    with abaco_error(400):
        ag.actors.add(body=body)


def test_body_that_is_not_json_serializable_is_400(ag):
    with abaco_error(400, "JSON"):
        ag.actors.add(body={"image": "echo:1", "defaultEnvironment": {"A": object()}})


def test_bad_default_environment_names_are_400(ag):
    with abaco_error(400, "defaultEnvironment"):
        ag.actors.add(body={"image": "echo:1", "defaultEnvironment": {"A=B": "x"}})
    with abaco_error(400, "defaultEnvironment"):
        ag.actors.add(body={"image": "echo:1", "defaultEnvironment": {"": "x"}})


def test_bad_token_value_is_400(ag):
    with abaco_error(400, "Invalid actor description: {'token': 'Whether this actor requires an OAuth access token.'}"):
        ag.actors.add(body={"image": "echo:1", "token": "maybe"})


@pytest.mark.parametrize("given, stored", [(True, True), ("False", False), ("1", True), (None, "false")])
def test_token_is_read_as_abaco_reads_it(ag, given, stored):
    """An explicit value is a boolean; an omitted one is the configured default, the string "false"."""
    body = {"image": "echo:1"} if given is None else {"image": "echo:1", "token": given}
    assert ag.actors.add(body=body).token == stored


def test_several_wrong_fields_are_all_named(ag):
    with abaco_error(400, "description", "stateless"):
        ag.actors.add(body={"image": "echo:1", "description": 1, "stateless": "x"})


def test_update_validates_like_add(ag):
    actor = ag.actors.add(body={"image": "echo:1"})
    with abaco_error(400, "stateless"):
        ag.actors.update(actorId=actor.id, body={"image": "echo:1", "stateless": "no"})
    with abaco_error(400, "image"):
        ag.actors.update(actorId=actor.id, body={"image": 7})


# -- privileged fields ------------------------------------------------------------------

@pytest.mark.parametrize("field, value, words", [
    ("privileged", True, "make privileged actors"),
    ("maxWorkers", 3, "set max workers"),
    ("maxCpus", 2, "only admins and privileged users"),
    ("memLimit", "1g", "only admins and privileged users"),
    ("queue", "special", "only admins and privileged users"),
])
def test_privileged_fields_by_an_ordinary_user_are_400(ag, field, value, words):
    with abaco_error(400, "Not authorized -- only admins and privileged users can", words):
        ag.actors.add(body={"image": "echo:1", field: value})
    assert ag.actors.list() == []


def test_privileged_actor_message_is_the_abaco_one(ag):
    with abaco_error(400) as caught:
        ag.actors.add(body={"image": "echo:1", "privileged": True})
    assert caught.message == "Not authorized -- only admins and privileged users can make privileged actors."


def test_max_workers_message_is_the_abaco_one(ag):
    with abaco_error(400) as caught:
        ag.actors.add(body={"image": "echo:1", "maxWorkers": 2})
    assert caught.message == "Not authorized -- only admins and privileged users can set max workers."


@pytest.mark.parametrize("roles", [PRIVILEGED, ADMIN])
@pytest.mark.parametrize("field, value", [("maxWorkers", 3), ("maxCpus", 2), ("memLimit", "1g"),
                                          ("queue", "special")])
def test_privileged_and_admin_users_may_set_privileged_fields(ag, roles, field, value):
    view = ag.as_user("power", roles=roles)
    actor = view.actors.add(body={"image": "echo:1", field: value})
    assert actor[field] == value


@pytest.mark.transports("in-process", reason="makes an emulator of its own (allow_privileged=True); `ag` only registers the image")
def test_privileged_user_may_make_a_privileged_actor_where_the_emulator_allows_it():
    with AbacoEmulator(runner="local", allow_privileged=True) as emulator:
        emulator.register_image("echo:1", echo)
        actor = emulator.as_user("power", roles=PRIVILEGED).actors.add(body={"image": "echo:1",
                                                                          "privileged": True})
        assert actor.privileged is True
        with abaco_error(400, "privileged"):
            emulator.actors.add(body={"image": "echo:1", "privileged": True})


@pytest.mark.transports("in-process", reason="makes an emulator of its own (roles=...); `ag` only registers the image")
def test_default_user_of_the_emulator_may_be_given_roles():
    with AbacoEmulator(runner="local", roles=PRIVILEGED) as emulator:
        emulator.register_image("echo:1", echo)
        assert emulator.actors.add(body={"image": "echo:1", "maxWorkers": 2}).maxWorkers == 2


def test_privileged_field_at_a_false_value_is_allowed_for_everyone(ag):
    actor = ag.actors.add(body={"image": "echo:1", "privileged": False})
    assert actor.privileged is False and actor.queue == "default"


def test_any_queue_needs_the_privileged_role_as_on_abaco(ag):
    """Abaco refuses any truthy `queue` from an ordinary user, "default" included."""
    with abaco_error(400, "only admins and privileged users can set queue."):
        ag.actors.add(body={"image": "echo:1", "queue": "default"})


def test_update_setting_a_privileged_field_is_400_for_ordinary_users(ag):
    actor = ag.actors.add(body={"image": "echo:1"})
    with abaco_error(400, "set max workers"):
        ag.actors.update(actorId=actor.id, body={"image": "echo:1", "maxWorkers": 4})


@pytest.mark.parametrize("value", [0, -1])
def test_max_workers_below_one_is_400(ag, value):
    power = ag.as_user("power", roles=PRIVILEGED)
    with abaco_error(400, "maxWorkers"):
        power.actors.add(body={"image": "echo:1", "maxWorkers": value})


def test_max_workers_on_a_stateful_actor_is_400(ag):
    power = ag.as_user("power", roles=PRIVILEGED)
    with abaco_error(400) as caught:
        power.actors.add(body={"image": "echo:1", "stateless": False, "maxWorkers": 2})
    assert caught.message == "Invalid actor description: stateful actors can only have 1 worker."


# -- never anything but an HTTPError -----------------------------------------------------

@pytest.mark.parametrize("field, default", [("hints", []), ("defaultEnvironment", {}), ("stateless", True),
                                            ("description", "")])
def test_null_fields_are_either_rejected_or_read_as_defaults(ag, field, default):
    try:
        actor = ag.actors.add(body={"image": "echo:1", field: None})
    except requests.HTTPError as error:
        assert error.response.status_code == 400
        assert field in error.response.json()["message"]
    else:
        assert actor[field] == default


@pytest.mark.parametrize("body", [
    {"image": "echo:1", "mounts": [1]},
    {"image": "echo:1", "maxWorkers": "two"},
    {"image": "echo:1", "memLimit": [1]},
    {"image": "echo:1", "link": "AAAAAAAAAAAAA"},
    {"image": "echo:1", "link": "no-such-alias"},
    {"image": ["echo:1"]},
    {"image": {"name": "echo"}},
    {5: "numeric key"},
])
def test_bad_descriptions_raise_only_http_errors(ag, body):
    try:
        ag.actors.add(body=body)
    except requests.HTTPError as error:
        assert error.response.status_code in (400, 404)
        envelope = error.response.json()
        assert envelope["status"] == "error" and envelope["result"] is None
    else:
        pytest.fail(f"{body!r} was accepted")
