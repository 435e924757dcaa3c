"""The OpenAPI document: valid OpenAPI 3, in step with the Flask routes, and true of real answers."""
from __future__ import annotations

import re

import pytest
import requests

from abaco_emulator.dialects.abaco_v2 import AbacoV2
from abaco_emulator.http_app import create_app
from abaco_emulator.openapi import openapi_document
from abaco_emulator.server import serve

from abaco_checks import echo

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def app_operations(app, prefix):
    """(OpenAPI path, method) of every rule under `prefix` in the app's url_map."""
    out = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or not rule.rule.startswith(prefix):
            continue
        rest = rule.rule[len(prefix):]
        if rest and not rest.startswith("/"):
            continue
        if prefix == "/actors" and rest.startswith("/v2"):
            continue  # a /actors/v2 rule seen from the shorter prefix
        path = "/actors/v2" + re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rest)
        for method in rule.methods - IGNORED_METHODS:
            out.add((path, method.lower()))
    return out


def document_operations(document):
    return {(path, method) for path, item in document["paths"].items() for method in item}


@pytest.fixture(scope="module")
def server():
    with serve(runner="local") as running:
        running.emulator.register_image("echo:1", echo)
        yield running


def test_the_document_is_valid_openapi_3():
    validator = pytest.importorskip("openapi_spec_validator")
    # `validate` since 0.7; tapipy 25.4.0 (a test dependency) pins 0.5, where it is `validate_spec`
    validate = getattr(validator, "validate", None) or validator.validate_spec
    validate(openapi_document())


@pytest.mark.parametrize("prefix", AbacoV2.prefixes)
def test_the_document_and_the_routes_agree(server, prefix):
    documented = document_operations(openapi_document())
    served = app_operations(server.app, prefix)
    assert served - documented == set(), "routes missing from the OpenAPI document"
    assert documented - served == set(), "documented operations the app does not serve"


def test_drift_is_detected(server):
    """Adding a route to the app without documenting it makes the comparison fail."""
    app = create_app(server.emulator)
    app.add_url_rule("/actors/v2/<actor_id>/undocumented", "undocumented", lambda actor_id: "", methods=["GET"])
    assert app_operations(app, "/actors/v2") - document_operations(openapi_document()) == {
        ("/actors/v2/{actor_id}/undocumented", "get")}


def test_path_parameters_are_declared(server):
    for path, item in openapi_document()["paths"].items():
        names = set(re.findall(r"{([^}]+)}", path))
        for method, operation in item.items():
            declared = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert declared == names, (path, method)


def test_served_document_and_answers_match_its_schemas(server):
    validator_module = pytest.importorskip("openapi_schema_validator")
    response = requests.get(server.url + "/actors/v2/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert document["servers"] == [{"url": server.url}]
    assert requests.get(server.url + "/actors/openapi.json").json() == document

    def check(path, method, answer):
        operation = document["paths"][path][method]
        status = str(answer.status_code)
        schema = operation["responses"][status]["content"]["application/json"]["schema"]
        full = {**schema, "components": document["components"]}
        validator_module.validate(answer.json(), full, cls=validator_module.OAS30Validator)

    base = server.url + "/actors/v2"
    added = requests.post(base, json={"image": "echo:1", "stateless": False})
    check("/actors/v2", "post", added)
    actor = added.json()["result"]
    check("/actors/v2", "get", requests.get(base))
    check("/actors/v2/{actor_id}", "get", requests.get(f"{base}/{actor['id']}"))
    check("/actors/v2/{actor_id}", "get", requests.get(f"{base}/nothing-here"))
    sent = requests.post(f"{base}/{actor['id']}/messages", json={"message": "m"})
    check("/actors/v2/{actor_id}/messages", "post", sent)
    execution_id = sent.json()["result"]["executionId"]
    server.emulator.wait_for_execution(actor["id"], execution_id, 10)
    check("/actors/v2/{actor_id}/executions", "get", requests.get(f"{base}/{actor['id']}/executions"))
    check("/actors/v2/{actor_id}/executions/{execution_id}", "get",
          requests.get(f"{base}/{actor['id']}/executions/{execution_id}"))
    check("/actors/v2/{actor_id}/executions/{execution_id}/logs", "get",
          requests.get(f"{base}/{actor['id']}/executions/{execution_id}/logs"))
    check("/actors/v2/{actor_id}/state", "get", requests.get(f"{base}/{actor['id']}/state"))
    check("/actors/v2/{actor_id}/state", "post", requests.post(f"{base}/{actor['id']}/state", json={"a": 1}))
    check("/actors/v2/{actor_id}/permissions", "get", requests.get(f"{base}/{actor['id']}/permissions"))
    check("/actors/v2/{actor_id}/workers", "get", requests.get(f"{base}/{actor['id']}/workers"))
    check("/actors/v2/{actor_id}/messages", "get", requests.get(f"{base}/{actor['id']}/messages"))
    check("/actors/v2/{actor_id}/messages", "delete", requests.delete(f"{base}/{actor['id']}/messages"))
    nonce = requests.post(f"{base}/{actor['id']}/nonces", json={"level": "READ"})
    check("/actors/v2/{actor_id}/nonces", "post", nonce)
    check("/actors/v2/{actor_id}/nonces", "get", requests.get(f"{base}/{actor['id']}/nonces"))
    alias = requests.post(f"{base}/aliases", json={"alias": "doc", "actorId": actor["id"]})
    check("/actors/v2/aliases", "post", alias)
    check("/actors/v2/aliases/{alias}", "get", requests.get(f"{base}/aliases/doc"))
    check("/actors/v2/aliases/{alias}", "delete", requests.delete(f"{base}/aliases/doc"))
    config = {"name": "doc", "value": "v", "isSecret": True, "actors": actor["id"]}
    check("/actors/v2/configs", "post", requests.post(f"{base}/configs", json=config))
    check("/actors/v2/configs", "get", requests.get(f"{base}/configs"))
    check("/actors/v2/configs/{config_name}", "get", requests.get(f"{base}/configs/doc"))
    check("/actors/v2/configs/{config_name}", "put", requests.put(f"{base}/configs/doc", json=config))
    check("/actors/v2/configs/{config_name}/permissions", "post",
          requests.post(f"{base}/configs/doc/permissions", json={"user": "friend", "level": "READ"}))
    check("/actors/v2/configs/{config_name}/permissions", "get", requests.get(f"{base}/configs/doc/permissions"))
    check("/actors/v2/search/{search_type}", "get", requests.get(f"{base}/search/executions"))
    check("/actors/v2/{actor_id}", "delete", requests.delete(f"{base}/{actor['id']}"))


def test_every_result_kind_of_the_table_has_a_renderer_and_a_schema():
    from abaco_emulator.openapi import _RESULT_SCHEMAS
    from abaco_emulator.operations import OPERATIONS

    kinds = {op.result for op in OPERATIONS}
    assert kinds <= set(AbacoV2().renderers), kinds - set(AbacoV2().renderers)
    assert kinds <= set(_RESULT_SCHEMAS), kinds - set(_RESULT_SCHEMAS)
