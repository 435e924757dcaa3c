"""Property-based fuzzing: no input makes the emulator answer anything but Abaco's answers.

Two fuzzers, each with a fixed seed (`derandomize=True`, no example database) so CI is
stable, and example counts small enough for the whole file to run in well under a minute:

- hypothesis against the in-process facade: every `actors.*` method with arbitrary
  JSON-ish bodies, ids and query values (odd unicode, lone surrogates, NUL, nested
  dicts and lists, nesting thousands deep, every field of every schema of
  `abaco_emulator/schemas.py` with values of every type), as the owner, a stranger and
  an admin. Only `requests.HTTPError` with a 4xx status and the error envelope may come
  out; no worker thread may fail; afterwards a normal add/send/wait still works.
- schemathesis against the served OpenAPI document (`GET /actors/v2/openapi.json`):
  every route and method, with data that fits the document and data that does not,
  with generated ids and with ids of real actors, executions, workers, nonces and
  aliases. No 5xx, every error JSON in the envelope, never HTML or a traceback.
"""
from __future__ import annotations

import inspect
import json
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abaco_emulator import AbacoEmulator
from abaco_emulator.client import CONFIG_METHODS, METHODS, ActorsClient, ConfigsClient
from abaco_emulator.models import alias_id
from abaco_emulator.query import SEARCH_TYPES
from abaco_emulator.schemas import SCHEMAS
from abaco_emulator.server import serve

ENVELOPE_KEYS = {"message", "result", "status", "version"}
INTERNAL_ERROR = "Internal error of abaco-emulator"
IMAGE = "fuzz/echo:1"
ADMIN_ROLE = "Internal/abaco-admin"

FUZZ = settings(
    derandomize=True,          # the same examples on every run: CI is stable
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                           HealthCheck.function_scoped_fixture, HealthCheck.large_base_example],
)


def echo(ctx):
    print("got", ctx["raw_message"])
    return None


def assert_error_answer(response: requests.Response, allowed: range = range(400, 500)) -> dict:
    """An Abaco error answer: a 4xx status and the error envelope with a message that says something."""
    assert response.status_code in allowed, (response.status_code, response.text[:500])
    assert response.headers.get("Content-Type", "").startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == ENVELOPE_KEYS, body
    assert body["status"] == "error" and body["result"] is None, body
    assert isinstance(body["message"], str) and body["message"].strip(), body
    assert INTERNAL_ERROR not in body["message"], body["message"]
    assert "Traceback" not in body["message"], body["message"]
    return body


# -- strategies ----------------------------------------------------------------------------

ODD_TEXT = st.sampled_from([
    "", " ", "\x00", "a\x00b", "\ud800", "\udfff", "..", "../..", "/", "a/b", "%00", "%2F", "%2e%2e",
    "\u202eevil", "\ufeff", "💥", "e\u0301", "ABACO_WORLD", "aliases", "search", "messages", "$where",
    "{\"a\": 1}", "[1, 2", "null", "true", "-1", "1e309", "NaN", "x" * 300, "DEV-DEVELOP_AAAAAAAAAAAAA",
    "AAAAAAAAAAAAA", "Ünïcödé", "\n\r\t", "$(touch /tmp/pwned)", "`id`", "; rm -rf /",
])
# All of unicode, lone surrogates and control characters included.
ANY_TEXT = st.one_of(ODD_TEXT, st.text(st.characters(exclude_categories=()), max_size=20))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=-2**70, max_value=2**70),
                    st.floats(), ANY_TEXT)
JSONISH = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(ANY_TEXT, inner, max_size=4)),
                       max_leaves=10)


def nested(depth: int, kind: str) -> Any:
    """A list or dict nested `depth` levels deep (built without recursion)."""
    value: Any = 1
    for _ in range(depth):
        value = [value] if kind == "list" else {"k": value}
    return value


def json_text(value: Any) -> str:
    """JSON text of a generated value (a value too deep for json.dumps as deep JSON text)."""
    try:
        return json.dumps(value)
    except RecursionError:
        return "[" * 5000 + "]" * 5000


DEEP = st.builds(nested, st.sampled_from([50, 99, 100, 101, 990, 5000]), st.sampled_from(["list", "dict"]))
VALUES = st.one_of(JSONISH, DEEP)

_TYPED = {
    "string": ANY_TEXT, "boolean": st.booleans(), "integer": st.integers(min_value=-3, max_value=10**6),
    "object": st.dictionaries(ANY_TEXT, VALUES, max_size=3), "array": st.lists(VALUES, max_size=3),
    "null": st.none(),
}


def field_values(schema: dict[str, Any]) -> st.SearchStrategy:
    """Values for one field: of its own type(s) (so deeper rules are reached) or of any type."""
    kinds = schema.get("type", [])
    kinds = kinds if isinstance(kinds, list) else [kinds]
    own = [_TYPED[k] for k in kinds if k in _TYPED]
    return st.one_of(*own, VALUES) if own else VALUES


def schema_bodies(name: str, base: dict[str, Any] | None = None,
                  fixed: dict[str, st.SearchStrategy] | None = None) -> st.SearchStrategy:
    """Bodies for a schema of schemas.py: a valid `base` with up to three of the schema's
    fields set to values of their own type or of any type, sometimes unknown fields; or
    not an object at all; or JSON text, or text that is not JSON."""
    properties = SCHEMAS[name]["properties"]
    values = {field: field_values(schema) for field, schema in properties.items()}
    values.update(fixed or {})
    changed = st.lists(st.sampled_from(sorted(values)), max_size=3, unique=True).flatmap(
        lambda fields: st.fixed_dictionaries({field: values[field] for field in fields}))
    unknown = st.one_of(st.just({}), st.just({}), st.dictionaries(ANY_TEXT, VALUES, max_size=2))
    objects = st.builds(lambda start, change, extra: {**extra, **start, **change},
                        st.sampled_from([base or {}, {}]), changed, unknown)
    return st.one_of(objects, objects, objects, objects, VALUES, objects.map(json_text), ANY_TEXT,
                     st.binary(max_size=16))


class World:
    """The real records ids are drawn from: an actor (stateful), its alias, an execution,
    a worker, a nonce, and another user's actor."""

    def __init__(self, ag: AbacoEmulator) -> None:
        self.ag = ag
        self.ensure()

    def ensure(self) -> None:
        """(Re)create the records when a fuzzed call deleted or changed them."""
        actors = self.ag.actors
        current = getattr(self, "actor_id", None)
        record = self.ag.store.get("actors", current) if current else None
        key = alias_id(self.ag.service.options.tenant, "fuzz-alias")  # aliases are keyed per tenant
        if record is not None and record["image"] == IMAGE and self.ag.store.get("aliases", key):
            return
        if record is not None:
            actors.delete(actorId=current)
        if self.ag.store.get("aliases", key):
            self.ag.store.delete("aliases", key)
        actor = actors.add(body={"image": IMAGE, "stateless": False, "name": "fuzzed"})
        self.actor_id = actor.id
        actors.addAlias(body={"alias": "fuzz-alias", "actorId": actor.id})
        sent = actors.sendMessage(actorId=actor.id, body={"message": "first"})
        self.execution_id = sent.executionId
        self.ag.wait_for_execution(actor.id, sent.executionId, timeout=10)
        self.worker_id = actors.listWorkers(actorId=actor.id)[0].id
        self.nonce_id = actors.addNonce(actorId=actor.id, body={"level": "READ", "maxUses": 3}).id
        if getattr(self, "other_id", None) is None or self.ag.store.get("actors", self.other_id) is None:
            self.other_id = self.ag.as_user("someone").actors.add(body={"image": IMAGE}).id

    def ids(self, *names: str) -> st.SearchStrategy:
        """Mostly the first real id named (the others, an alias, any text or value otherwise)."""
        first = st.builds(lambda: getattr(self, names[0]))
        real = st.builds(lambda name: getattr(self, name), st.sampled_from(names))
        extra = [st.just("fuzz-alias")] if "actor_id" in names else []
        return st.one_of(first, first, first, real, *extra, ANY_TEXT, JSONISH)


def argument_strategy(world: World, method: str, name: str) -> st.SearchStrategy:
    """Values for one keyword argument of a facade method."""
    if name == "actorId":
        return world.ids("actor_id", "other_id")
    if name == "executionId":
        return world.ids("execution_id")
    if name == "workerId":
        return world.ids("worker_id")
    if name in ("nonceId", "nonce"):
        real = world.ids("nonce_id")
        return real if name == "nonceId" else st.one_of(st.none(), st.none(), st.none(), real)
    if name == "alias":
        return st.one_of(st.just("fuzz-alias"), ANY_TEXT, JSONISH)
    if name in ("limit", "skip", "offset"):
        return st.one_of(st.none(), st.integers(min_value=-5, max_value=10**9), ANY_TEXT, st.floats(), st.booleans())
    if name == "q":
        mongo = st.dictionaries(st.sampled_from(["status", "id", "owner", "$and", "$or", "$where", "image",
                                                 "final_state.ExitCode"]),
                                st.one_of(VALUES, st.dictionaries(
                                    st.sampled_from(["$eq", "$ne", "$gt", "$in", "$nin", "$regex", "$exists",
                                                     "$bad"]), VALUES, max_size=2)), max_size=3)
        return st.one_of(st.none(), mongo, mongo.map(json_text), VALUES)
    if name == "search_type":
        return st.one_of(st.sampled_from(SEARCH_TYPES), ANY_TEXT, JSONISH)
    if name == "environment":
        return st.one_of(st.none(), st.dictionaries(ANY_TEXT, VALUES, max_size=3))
    if name == "message":  # sendBinaryMessage
        return st.one_of(st.binary(max_size=64), VALUES)
    if name == "body":
        actor = {"image": IMAGE, "stateless": False}
        return {
            "add": schema_bodies("Actor", actor, {"image": st.sampled_from([IMAGE, "nope:1"])}),
            "update": schema_bodies("Actor", actor, {"image": st.sampled_from([IMAGE, "nope:1"])}),
            "updatePermissions": schema_bodies("PermissionsUpdateRequest", {"user": "bob", "level": "READ"}, {
                "level": st.one_of(st.sampled_from(["NONE", "READ", "EXECUTE", "UPDATE", "read", "ADMIN"]),
                                   VALUES)}),
            "addNonce": schema_bodies("AddNonceRequest", {"level": "EXECUTE", "maxUses": 2}, {
                "level": st.one_of(st.sampled_from(["NONE", "READ", "EXECUTE", "UPDATE"]), VALUES),
                "maxUses": st.one_of(st.integers(min_value=-3, max_value=5), VALUES)}),
            "addAlias": schema_bodies("AddAliasRequest", {"alias": "fuzz-other", "actorId": world.actor_id},
                                      {"actorId": world.ids("actor_id", "other_id")}),
            "addWorker": schema_bodies("AddWorkersRequest", {"num": 1}, {
                "num": st.one_of(st.integers(min_value=-2, max_value=3), st.integers(min_value=10**6), VALUES)}),
            "sendMessage": st.one_of(schema_bodies("MessageRequest", {"message": "hello"}), st.none()),
            "updateState": st.one_of(VALUES, ANY_TEXT, st.binary(max_size=16)),
        }[method]
    raise AssertionError(f"no strategy for argument {name} of actors.{method}: add one")


def method_arguments(client: type, method: str) -> list[str]:
    return list(inspect.signature(getattr(client, method)).parameters)[1:]


# -- the in-process facade -------------------------------------------------------------------

@pytest.fixture(scope="module")
def emulator():
    with AbacoEmulator(runner="local") as ag:
        ag.register_image(IMAGE, echo)
        yield ag


@pytest.fixture(scope="module")
def world(emulator):
    return World(emulator)


def config_argument_strategy(world: World, method: str, name: str) -> st.SearchStrategy:
    """Values for one keyword argument of a configs.* method."""
    if name == "configName":
        return st.one_of(st.just("fuzz-config"), st.just("fuzz-config"), ANY_TEXT, JSONISH)
    if name == "nonce":
        return st.one_of(st.none(), st.none(), st.none(), world.ids("nonce_id"))
    if name == "body" and method in ("add", "update"):
        names = st.builds(lambda: world.actor_id) | st.just("fuzz-alias") | st.builds(lambda: world.other_id)
        listed = st.lists(st.one_of(names, ANY_TEXT), min_size=1, max_size=3).map(",".join)
        return schema_bodies("ActorConfig" if method == "add" else "ActorConfigUpdate",
                             {"name": "fuzz-config", "value": "v", "isSecret": True, "actors": "fuzz-alias"},
                             {"actors": st.one_of(listed, VALUES), "isSecret": st.one_of(
                                 st.booleans(), st.sampled_from(["true", "False", "1", "yes"]), VALUES)})
    if name == "body":
        return schema_bodies("PermissionsUpdateRequest", {"user": "bob", "level": "READ"})
    raise AssertionError(f"no strategy for argument {name} of configs.{method}: add one")


# Each facade: its client class, its methods, the strategy of their arguments, the
# arguments also left out (optional ones) and how many calls are tried.
FACADES = {
    "actors": (ActorsClient, METHODS, argument_strategy, {"nonce", "environment", "limit", "q", "skip", "offset"}, 400),
    "configs": (ConfigsClient, CONFIG_METHODS, config_argument_strategy, {"nonce"}, 300),
}


@pytest.mark.parametrize("facade", sorted(FACADES))
@pytest.mark.parametrize("who", ["owner", "stranger", "admin"])
def test_facade_methods_raise_only_abaco_http_errors(emulator, world, who, facade):
    """Any arguments to any actors.* or configs.* method: a result, or requests.HTTPError
    4xx with the envelope; and the emulator still runs executions afterwards."""
    client, methods, strategy, optional, examples = FACADES[facade]
    views = {"owner": emulator, "stranger": emulator.as_user("mallory"),
             "admin": emulator.as_user("root", roles=[ADMIN_ROLE])}
    view = getattr(views[who], facade)

    @settings(FUZZ, max_examples=examples)
    @given(data=st.data())
    def fuzz(data):
        world.ensure()
        method = data.draw(st.sampled_from(methods), label="method")
        kwargs = {}
        for name in method_arguments(client, method):
            if name in optional and data.draw(st.booleans()):
                continue  # optional: also called without it
            kwargs[name] = data.draw(strategy(world, method, name), label=name)
        try:
            getattr(view, method)(**kwargs)
        except requests.HTTPError as exc:
            assert_error_answer(exc.response)
        emulator.raise_background_errors()

    fuzz()
    assert_still_works(emulator)


def test_every_facade_method_and_argument_is_fuzzed(world):
    """The strategies cover every method of the facade and each of its arguments."""
    assert len(METHODS) >= 30
    for client, methods, strategy, _, _ in FACADES.values():
        for method in methods:
            for name in method_arguments(client, method):
                assert strategy(world, method, name) is not None


def test_every_schema_field_is_fuzzed():
    """Every schema of schemas.py has bodies generated from all its fields."""
    for name, schema in SCHEMAS.items():
        assert schema["properties"], name
        assert schema_bodies(name) is not None


def assert_still_works(ag: AbacoEmulator) -> None:
    """A normal add/send/wait after the fuzzing: the emulator is healthy.

    (No drain: fuzzed updates leave messages queued for actors whose image is unknown.)
    """
    actor = ag.actors.add(body={"image": IMAGE, "name": "after-fuzzing"})
    sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "still here"})
    execution = ag.wait_for_execution(actor.id, sent.executionId, timeout=10)
    assert execution.status == "COMPLETE"
    assert "still here" in ag.actors.getExecutionLogs(actorId=actor.id, executionId=execution.id).logs
    ag.raise_background_errors()


# -- HTTP, from the OpenAPI document ----------------------------------------------------------

@pytest.fixture(scope="module")
def server():
    # A short synchronous timeout: a synchronous message to an actor whose image a fuzzed
    # PUT made unknown answers 504 after it instead of holding the fuzzer for minutes.
    with serve(runner="local", sync_timeout=1.0) as running:
        running.emulator.register_image(IMAGE, echo)
        yield running


@pytest.fixture(scope="module")
def http_world(server):
    return World(server.emulator)


@pytest.fixture(scope="module")
def schema(server):
    schemathesis = pytest.importorskip("schemathesis")
    document = requests.get(server.url + "/actors/v2/openapi.json", timeout=10)
    assert document.status_code == 200
    return schemathesis.openapi.from_dict(document.json())


def operation_ids():
    from abaco_emulator.openapi import openapi_document
    document = openapi_document()
    return [(path, method) for path, item in document["paths"].items() for method in item]


def real_path_parameters(world: World, path: str) -> dict[str, str]:
    values = {"actor_id": world.actor_id, "alias": "fuzz-alias", "execution_id": world.execution_id,
              "worker_id": world.worker_id, "nonce_id": world.nonce_id, "search_type": "actors"}
    return {name: value for name, value in values.items() if "{" + name + "}" in path}


def assert_clean_http_answer(case: Any, response: requests.Response) -> None:
    """No 5xx (but a synchronous message's documented 504), errors in the envelope, no HTML."""
    text = response.text
    assert "Traceback (most recent call last)" not in text, text[:500]
    assert "<html" not in text.lower() and "<!doctype" not in text.lower(), text[:500]
    synchronous = str((case.query or {}).get("_abaco_synchronous", "")).lower() in ("true", "1", "yes", "on")
    if response.status_code >= 400:
        allowed = range(400, 505) if synchronous else range(400, 500)
        body = assert_error_answer(response, allowed)
        if response.status_code == 504:
            assert "did not finish" in body["message"]


@pytest.mark.parametrize("path, method", operation_ids())
def test_every_route_and_method_answers_without_5xx(server, http_world, schema, path, method):
    """schemathesis: documented and undocumented data on one operation, generated and real ids."""
    from schemathesis.generation.modes import GenerationMode

    operation = schema[path][method.upper()]
    bearer = {"Authorization": "Bearer fuzz"}  # open mode: any bearer token is the default user
    strategies = [operation.as_strategy(mode, headers=headers)
                  for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) for headers in (bearer, None)]
    has_ids = bool(real_path_parameters(http_world, path))
    session = requests.Session()

    @settings(FUZZ, max_examples=25)
    @given(case=st.one_of(*strategies), real_ids=st.booleans() if has_ids else st.just(False))
    def fuzz(case, real_ids):
        http_world.ensure()
        if real_ids:  # ids of the records that exist now (a fuzzed DELETE may have replaced them)
            case.path_parameters = {**(case.path_parameters or {}), **real_path_parameters(http_world, path)}
        response = session.request(**case.as_transport_kwargs(base_url=server.url), timeout=15)
        assert_clean_http_answer(case, response)
        server.emulator.raise_background_errors()

    fuzz()
    healthy = requests.get(f"{server.url}/actors/v2/{http_world.actor_id}", timeout=10)
    assert healthy.status_code == 200, healthy.text


@pytest.mark.parametrize("path, method", operation_ids())
def test_every_v3_route_and_method_answers_without_5xx(server, http_world, schema, path, method):
    """The same operations through the Tapis v3 routes (`/v3/actors`, `X-Tapis-Token`), as tapipy calls them."""
    from schemathesis.generation.modes import GenerationMode

    from abaco_emulator import tapis_token

    operation = schema[path][method.upper()]
    token = {"X-Tapis-Token": tapis_token("testuser", server.emulator.tapis_tenant)}
    strategies = [operation.as_strategy(mode, headers=token) for mode in (GenerationMode.POSITIVE,
                                                                         GenerationMode.NEGATIVE)]
    has_ids = bool(real_path_parameters(http_world, path))
    session = requests.Session()

    @settings(FUZZ, max_examples=10)
    @given(case=st.one_of(*strategies), real_ids=st.booleans() if has_ids else st.just(False))
    def fuzz(case, real_ids):
        http_world.ensure()
        if real_ids:
            case.path_parameters = {**(case.path_parameters or {}), **real_path_parameters(http_world, path)}
        request = case.as_transport_kwargs(base_url=server.url)
        request["url"] = request["url"].replace(server.url + "/actors/v2", server.url + "/v3/actors", 1)
        response = session.request(**request, timeout=15)
        assert "Traceback (most recent call last)" not in response.text, response.text[:500]
        assert response.status_code < 500 or (response.status_code == 504 and "did not finish" in response.text), \
            response.text[:500]
        if response.status_code >= 400:
            body = response.json()
            assert body["status"] == "error" and isinstance(body["message"], str), body
        server.emulator.raise_background_errors()

    fuzz()


@settings(FUZZ, max_examples=60)
@given(body=st.one_of(st.none(), st.text(max_size=50), st.binary(max_size=50).map(lambda b: b.decode("latin-1")),
                      st.fixed_dictionaries({"seconds": st.one_of(
                          st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**12, 10**12), st.text(),
                          st.booleans(), st.none(), st.lists(st.integers()))}).map(json.dumps)))
def test_the_clock_route_answers_any_body_without_5xx(server, body):
    response = requests.post(server.url + "/emulator/v1/clock", data=body,
                             headers={"Content-Type": "application/json"}, timeout=15)
    assert response.status_code < 500, response.text[:500]
    payload = response.json()
    if response.status_code == 200:
        assert payload["result"]["offset_seconds"] >= 0
    else:
        assert payload["status"] == "error", payload
