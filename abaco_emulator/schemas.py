"""Request validation with the JSON schemas of agavepy's `actors` interface.

The schemas below are those of the interface that downstream code calls (the seed
`actors-interface.txt`); they spell types as agavepy does (`dict`, `int`), which
`_normalise` reads as JSON Schema's `object` and `integer`. The actor schema is
extended with the other fields Abaco accepts, so that every field has a type check.
"""
from __future__ import annotations

import json
from typing import Any, Callable

import jsonschema

from .errors import BadRequest, InvalidBody

_AGAVEPY_TYPES = {"dict": "object", "int": "integer"}

_CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "value": {"type": ["string", "number", "boolean", "object", "array"]},
        "isSecret": {"type": ["boolean", "string"]},
        "actors": {"type": "string"},
    },
}

_SEED_SCHEMAS: dict[str, dict[str, Any]] = {
    "Actor": {
        "type": "object",
        "properties": {
            "defaultEnvironment": {"type": "dict"},
            "description": {"type": "string"},
            "id": {"type": "string"},
            "image": {"type": "string"},
            "owner": {"type": "string"},
            "privileged": {"type": "boolean"},
            "stateless": {"type": "boolean"},
            "status": {"type": "string"},
        },
    },
    "MessageRequest": {"type": "object", "properties": {"message": {"type": "string"}}},
    "PermissionsUpdateRequest": {
        "type": "object",
        "properties": {"level": {"type": "string"}, "user": {"type": "string"}},
    },
    "AddNonceRequest": {
        "type": "object",
        "properties": {"level": {"type": "string"}, "maxUses": {"type": "int"}},
    },
    "AddAliasRequest": {
        "type": "object",
        "properties": {"actorId": {"type": "string"}, "alias": {"type": "string"}},
    },
    "AddWorkersRequest": {"type": "object", "properties": {"num": {"type": "int"}}},
    # The emulator's, for routes agavepy has no method for.
    "UpdateAliasRequest": {
        "type": "object",
        "properties": {"actorId": {"type": "string"}, "alias": {"type": "string"}},
    },
    # Abaco reads `value` with type=str: any JSON value but null is taken (as its str()).
    "ActorConfig": _CONFIG_SCHEMA,
    "ActorConfigUpdate": _CONFIG_SCHEMA,
    "AddExecutionRequest": {
        "type": "object",
        "properties": {name: {"type": ["string", "integer"]} for name in ("runtime", "cpu", "io")},
    },
    "AdvanceClockRequest": {"type": "object", "properties": {"seconds": {"type": "number"}}},
}

# Fields of an actor description that Abaco accepts beyond the seed's schema.
_ACTOR_EXTRA_PROPERTIES = {
    "name": {"type": ["string", "null"]},
    "useContainerUid": {"type": "boolean"},
    "token": {"type": ["string", "boolean"]},
    "hints": {"type": "array", "items": {"type": "string"}},
    "link": {"type": "string"},
    "webhook": {"type": "string"},
    "mounts": {"type": "array", "items": {"type": "object"}},
    "maxWorkers": {"type": ["integer", "null"], "minimum": 1},
    "memLimit": {"type": ["string", "integer", "null"]},
    "maxCpus": {"type": ["integer", "null"], "minimum": 1},
    "queue": {"type": "string"},
    "cronOn": {"type": "boolean"},
    "cronSchedule": {"type": ["string", "null"]},
    "logEx": {"type": ["integer", "null"]},
    "force": {"type": "boolean"},
}


def _normalise(schema: Any) -> Any:
    """Read agavepy's type names (`dict`, `int`) as JSON Schema's."""
    if isinstance(schema, dict):
        out = {key: _normalise(value) for key, value in schema.items()}
        if isinstance(out.get("type"), str):
            out["type"] = _AGAVEPY_TYPES.get(out["type"], out["type"])
        return out
    if isinstance(schema, list):
        return [_normalise(item) for item in schema]
    return schema


SCHEMAS: dict[str, dict[str, Any]] = {name: _normalise(schema) for name, schema in _SEED_SCHEMAS.items()}
SCHEMAS["Actor"]["properties"].update(_ACTOR_EXTRA_PROPERTIES)
_VALIDATORS = {name: jsonschema.Draft7Validator(schema) for name, schema in SCHEMAS.items()}

# How an error message names the body of each schema ("Invalid actor description: ...").
_BODY_NAMES = {
    "Actor": "actor description",
    "AddNonceRequest": "nonce request",
    "AddAliasRequest": "alias request",
    "PermissionsUpdateRequest": "permission request",
    "AddWorkersRequest": "workers request",
    "UpdateAliasRequest": "alias request",
    "AddExecutionRequest": "actor execution description",
    "AdvanceClockRequest": "clock request",
    "ActorConfig": "config description",
    "ActorConfigUpdate": "config description",
    "state": "state",
    "message": "message",
}
# Bodies that may be left out: an empty one is `{}`.
OPTIONAL_BODIES = frozenset({"AddNonceRequest", "AddWorkersRequest"})


def describe_body(schema_name: str) -> str:
    return _BODY_NAMES[schema_name]


_TYPE_WORDS = {
    "object": "an object",
    "integer": "an integer",
    "string": "a string",
    "boolean": "a boolean (true or false)",
    "array": "a list",
    "null": "null",
}


def _describe(error: jsonschema.ValidationError, field_name: Callable[[str], str]) -> str:
    path = [str(part) for part in error.absolute_path]
    field = ".".join([field_name(path[0]), *path[1:]]) if path else ""
    where = f"field '{field}'" if field else "the request body"
    if error.validator == "type":
        wanted = error.validator_value
        wanted = wanted if isinstance(wanted, list) else [wanted]
        words = " or ".join(_TYPE_WORDS.get(str(w), str(w)) for w in wanted)
        return f"{where} must be {words}, not {error.instance!r}"
    if error.validator == "minimum":
        return f"{where} must be at least {error.validator_value}, not {error.instance!r}"
    return f"{where}: {error.message}"


# MongoDB's limit on nested documents, where Abaco keeps what it is sent; far deeper
# values would also exhaust Python's recursion when they are copied or written.
MAX_JSON_DEPTH = 100


def check_depth(value: Any, what: str) -> None:
    """A BadRequest for a JSON value nested more than MAX_JSON_DEPTH levels (checked without recursion)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise BadRequest(f"Invalid {what}: the JSON is nested more than {MAX_JSON_DEPTH} levels deep.")
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)


def check_json(value: Any, what: str) -> None:
    """A BadRequest unless `value` can be stored and shown as JSON."""
    check_depth(value, what)
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"Invalid {what}: the value must be JSON-serializable ({exc}).") from None


def validate(schema_name: str, body: Any, what: str, field_name: Callable[[str], str] = str) -> dict[str, Any]:
    """Check `body` against a schema; an InvalidBody names every wrong field (a top-level
    one as `field_name` spells it on the wire)."""
    if not isinstance(body, dict):
        raise BadRequest(f"Invalid {what}: the request body must be a JSON object, not {type(body).__name__}.")
    check_depth(body, what)
    errors = sorted(_VALIDATORS[schema_name].iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        first = [str(part) for part in errors[0].absolute_path]
        raise InvalidBody(what, "; ".join(_describe(e, field_name) for e in errors), first[0] if first else None)
    return body
