"""The OpenAPI 3 document of the served API (`GET /actors/v2/openapi.json`).

Derived, as the Flask routes are, from the operation table (`operations.py`): its
paths, parameters and summaries come from the rows; the schemas of bodies and results
are written out here, one per kind. Schemas are plain JSON Schema (the subset OpenAPI
3.0 shares), so tests also validate real answers against them.
"""
from __future__ import annotations

import copy
from typing import Any

from .dialects.abaco_v2 import VERSION
from .operations import OPERATIONS
from .query import SEARCH_TYPES

_STRING = {"type": "string"}
_TIME = {"type": "string", "description": "ISO-8601 with a trailing Z"}
_INT = {"type": "integer"}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


SCHEMAS: dict[str, dict[str, Any]] = {
    "Links": {"type": "object", "additionalProperties": _STRING},
    "Actor": {
        "type": "object",
        "required": ["id", "image", "owner", "status", "stateless", "revision", "_links"],
        "properties": {
            "id": _STRING, "name": _STRING, "image": _STRING, "owner": _STRING, "description": _STRING,
            "status": {"type": "string", "enum": ["SUBMITTED", "READY", "ERROR", "SHUTTING_DOWN"]},
            "statusMessage": _STRING, "defaultEnvironment": {"type": "object"},
            "stateless": {"type": "boolean"}, "privileged": {"type": "boolean"},
            "useContainerUid": {"type": "boolean"}, "token": {"oneOf": [_STRING, {"type": "boolean"}]},
            "hints": {"type": "array"}, "state": {}, "type": _STRING, "cronNextEx": _STRING,
            "link": _STRING, "webhook": _STRING, "mounts": {"type": "array"}, "maxWorkers": _INT,
            "memLimit": {}, "maxCpus": {}, "queue": _STRING, "revision": _INT, "cronOn": {"type": "boolean"},
            "cronSchedule": _STRING, "logEx": {}, "createTime": _TIME, "lastUpdateTime": _TIME,
            "_links": _ref("Links"),
        },
    },
    "ActorRequest": {
        "type": "object",
        "required": ["image"],
        "description": "An actor description (camelCase fields of Actor); PUT replaces the whole description.",
        "properties": {
            "image": _STRING, "name": _STRING, "description": _STRING, "defaultEnvironment": {"type": "object"},
            "stateless": {"type": "boolean"}, "privileged": {"type": "boolean"}, "force": {"type": "boolean"},
            "useContainerUid": {"type": "boolean"}, "token": {}, "hints": {"type": "array"},
            "link": _STRING, "webhook": _STRING, "mounts": {"type": "array"}, "maxWorkers": _INT,
            "memLimit": {}, "maxCpus": {}, "queue": _STRING,
        },
    },
    "MessageSent": {
        "type": "object",
        "required": ["executionId", "msg", "_links"],
        "properties": {"executionId": _STRING, "msg": {}, "_links": _ref("Links")},
    },
    "MessagesCount": {
        "type": "object", "required": ["messages"],
        "properties": {"messages": _INT, "_links": _ref("Links")},
    },
    "MailboxPurged": {"type": "object", "required": ["msg"], "properties": {"msg": _STRING}},
    "State": {"type": "object", "required": ["state"], "properties": {"state": {}}},
    "Permissions": {
        "type": "object",
        "additionalProperties": {"type": "string", "enum": ["NONE", "READ", "EXECUTE", "UPDATE"]},
    },
    "PermissionRequest": {
        "type": "object", "required": ["user", "level"],
        "properties": {"user": _STRING, "level": {"type": "string", "enum": ["NONE", "READ", "EXECUTE", "UPDATE"]}},
    },
    "Worker": {
        "type": "object", "required": ["id", "status"],
        "properties": {"id": _STRING, "status": _STRING, "chName": _STRING, "image": _STRING,
                       "location": _STRING, "cid": _STRING, "hostId": _STRING, "createTime": _TIME,
                       "lastExecutionTime": _TIME, "lastHealthCheckTime": _TIME},
    },
    "WorkersRequest": {"type": "object", "properties": {"num": {"type": "integer", "minimum": 1}}},
    "Nonce": {
        "type": "object", "required": ["id", "level", "maxUses", "currentUses", "remainingUses", "owner"],
        "properties": {"id": _STRING, "actorId": _STRING, "alias": _STRING, "owner": _STRING,
                       "roles": {"type": "array", "items": _STRING}, "level": _STRING, "maxUses": _INT,
                       "currentUses": _INT, "remainingUses": _INT, "description": _STRING,
                       "createTime": _TIME, "lastUseTime": _TIME, "_links": _ref("Links")},
    },
    "NonceRequest": {
        "type": "object",
        "properties": {"level": {"type": "string", "enum": ["READ", "EXECUTE", "UPDATE"]}, "maxUses": _INT,
                       "description": _STRING},
    },
    "Alias": {
        "type": "object", "required": ["alias", "actorId", "owner", "_links"],
        "properties": {"alias": _STRING, "actorId": _STRING, "owner": _STRING, "createTime": _TIME,
                       "_links": _ref("Links")},
    },
    "AliasRequest": {
        "type": "object", "required": ["actorId"],
        "properties": {"alias": _STRING, "actorId": _STRING},
    },
    "Execution": {
        "type": "object", "required": ["id", "actorId", "status", "_links"],
        "properties": {"id": _STRING, "actorId": _STRING, "apiServer": _STRING, "executor": _STRING,
                       "workerId": _STRING, "status": {"type": "string",
                                                       "enum": ["SUBMITTED", "RUNNING", "COMPLETE", "ERROR"]},
                       "messageReceivedTime": _TIME, "startTime": _TIME, "finishTime": _TIME,
                       "runtime": _INT, "cpu": _INT, "io": _INT, "exitCode": _INT,
                       "finalState": {"type": "object"}, "_links": _ref("Links")},
    },
    "ExecutionsSummary": {
        "type": "object",
        "required": ["actorId", "owner", "totalExecutions", "executions", "_links"],
        "properties": {
            "actorId": _STRING, "apiServer": _STRING, "owner": _STRING, "totalExecutions": _INT,
            "totalCpu": _INT, "totalIo": _INT, "totalRuntime": _INT,
            "executions": {"type": "array", "items": {
                "type": "object", "required": ["id", "status"],
                "properties": {"id": _STRING, "status": _STRING, "startTime": {}, "finishTime": {},
                               "messageReceivedTime": {}}}},
            "_links": _ref("Links"),
        },
    },
    "Logs": {"type": "object", "required": ["logs"], "properties": {"logs": _STRING, "_links": _ref("Links")}},
    "Clock": {"type": "object", "required": ["now", "offset_seconds", "real_now"],
              "properties": {"now": _TIME, "offset_seconds": {"type": "number"}, "real_now": _TIME}},
    "LiveLogs": {"type": "object", "required": ["logs", "status", "finished"],
                 "properties": {"logs": _STRING, "status": _STRING, "finished": {"type": "boolean"},
                                "offset": {"type": "integer"}, "length": {"type": "integer"}}},
    "Overview": {"type": "object"},  # the emulator's own paged views (overview.py); not in Abaco's document
    "SearchResult": {
        "type": "object", "required": ["_metadata", "search"],
        "properties": {
            "_metadata": {"type": "object",
                          "required": ["totalCount", "recordsSkipped", "recordLimit", "countReturned"],
                          "properties": {k: _INT for k in ("totalCount", "recordsSkipped", "recordLimit",
                                                           "countReturned")}},
            "search": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Utilization": {"type": "object", "required": ["currentActors", "totalActors", "workers", "commandQueue"],
                    "properties": {k: _INT for k in ("currentActors", "totalActors", "workers", "commandQueue")}},
    "AdminAnswer": {"description": "The admin routes' records (camelCase, nulls kept)",
                    "oneOf": [{"type": "array", "items": {"type": "object"}}, {"type": "object"}]},
    "ActorConfig": {
        "type": "object", "required": ["name", "value", "isSecret", "actors"],
        "properties": {"name": _STRING, "value": {"type": "string", "description": "a secret's: its Fernet token"},
                       "isSecret": {"type": "boolean"},
                       "actors": {"type": "string", "description": "comma-separated actor ids or aliases"}},
    },
    "ActorConfigRequest": {
        "type": "object", "required": ["name", "value", "isSecret", "actors"],
        "description": "An actor config (on PUT the name is required and ignored)",
        "properties": {"name": _STRING, "value": {}, "isSecret": {"type": "boolean"},
                       "actors": {"type": "string", "description": "comma-separated actor ids or aliases"}},
    },
    "AliasUpdateRequest": {"type": "object", "required": ["actorId"], "properties": {"actorId": _STRING}},
    "ExecutionAccountingRequest": {
        "type": "object", "required": ["runtime", "cpu", "io"],
        "properties": {k: {"oneOf": [_STRING, _INT]} for k in ("runtime", "cpu", "io")},
    },
    "ClockRequest": {"type": "object", "required": ["seconds"],
                     "properties": {"seconds": {"type": "number", "minimum": 0}}},
    "Envelope": {
        "type": "object", "required": ["message", "result", "status", "version"],
        "properties": {"message": _STRING, "result": {"nullable": True},
                       "status": {"type": "string", "enum": ["success"]},
                       "version": _STRING},
    },
    "ErrorEnvelope": {
        "type": "object", "required": ["message", "result", "status", "version"],
        "properties": {"message": _STRING, "result": {"nullable": True, "enum": [None]},
                       "status": {"type": "string", "enum": ["error"]}, "version": _STRING},
    },
}


def _param(name: str, where: str = "path", schema: dict[str, Any] | None = None, description: str = "",
           required: bool | None = None) -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path" if required is None else required,
            "schema": schema or _STRING, "description": description}


_PATH_PARAMETERS = {
    "actor_id": _param("actor_id", description="An actor id or alias"),
    "execution_id": _param("execution_id", description="An execution id"),
    "worker_id": _param("worker_id", description="A worker id"),
    "nonce_id": _param("nonce_id", description="A nonce id"),
    "alias": _param("alias", description="An alias"),
    "config_name": _param("config_name", description="The name of an actor config"),
    "search_type": _param("search_type", schema={"type": "string", "enum": list(SEARCH_TYPES)}),
}
_QUERY_PARAMETERS = {
    "limit": _param("limit", "query", _INT, "at most this many records (default 100)"),
    "skip": _param("skip", "query", _INT, "skip this many records first"),
    "offset": _param("offset", "query", _INT, "synonym of skip (agavepy 0.9.5 sends it)"),
    "q": _param("q", "query", _STRING, "a MongoDB-style JSON filter"),
    "search": _param("search", "query", _STRING, "full-text search"),
    "exactsearch": _param("exactsearch", "query", _STRING, "exact full-text search"),
    "_abaco_synchronous": _param("_abaco_synchronous", "query", {"type": "boolean"},
                                 "wait for the execution and answer with its first result (or its logs)"),
    "x-nonce": _param("x-nonce", "query", _STRING, "a nonce used instead of credentials"),
}
# What each query group of the table reads: "params" is any query parameter, so the usual
# ones are listed (field=value and field.<op>=value work too).
_QUERY_GROUPS = {"params": ("limit", "skip", "search", "exactsearch"), "q": ("q",),
                 "_abaco_synchronous": ("_abaco_synchronous",), "x-nonce": ("x-nonce",)}

# The schema of each body kind (`Operation.body`) and of each result kind (`Operation.result`):
# a component name, ("array", name), None for a null result, "raw" bytes or "document".
_BODY_SCHEMAS = {"Actor": "ActorRequest", "AddAliasRequest": "AliasRequest", "AddNonceRequest": "NonceRequest",
                 "PermissionsUpdateRequest": "PermissionRequest", "AddWorkersRequest": "WorkersRequest",
                 "UpdateAliasRequest": "AliasUpdateRequest", "AddExecutionRequest": "ExecutionAccountingRequest",
                 "AdvanceClockRequest": "ClockRequest",
                 "ActorConfig": "ActorConfigRequest", "ActorConfigUpdate": "ActorConfigRequest",
                 "message": "message", "state": "any"}
_RESULT_SCHEMAS: dict[str, Any] = {
    "actor": "Actor", "actors": ("array", "Actor"), "alias": "Alias", "aliases": ("array", "Alias"),
    "nonce": "Nonce", "nonces": ("array", "Nonce"), "worker": "Worker", "workers": ("array", "Worker"),
    "execution": "Execution", "executions": "ExecutionsSummary", "logs": "Logs", "messages": "MessagesCount",
    "message_sent": "MessageSent", "purged": "MailboxPurged", "state": "State", "permissions": "Permissions",
    "search": "SearchResult", "none": None, "raw": "raw", "document": "document", "live_logs": "LiveLogs",
    "clock": "Clock", "overview": "Overview",
    "utilization": "Utilization", "admin": "AdminAnswer", "config": "ActorConfig",
    "configs": ("array", "ActorConfig"),
}

_ERRORS = {
    "400": "Invalid input, not authorized, or does not exist (Abaco answers 400 for all three)",
    "401": "Missing or invalid credentials (when the server has tokens configured)",
    "404": "Unknown alias, identifier or worker; a stateless actor's state",
    "405": "Unknown route or method",
    "413": "Request body too large",
}


def _envelope_with(result: Any) -> dict[str, Any]:
    if result is None:
        inner: dict[str, Any] = {"nullable": True, "enum": [None]}  # OpenAPI 3.0 spells null so
    elif isinstance(result, tuple) and result[0] == "or a search":  # a listing any query parameter makes a search
        inner = {"oneOf": [_envelope_with(result[1])["allOf"][1]["properties"]["result"], _ref("SearchResult")]}
    elif isinstance(result, tuple):
        inner = _array(result[1])
    else:
        inner = _ref(result)
    return {"allOf": [_ref("Envelope"), {"type": "object", "properties": {"result": inner}}]}


def _request_body(kind: str) -> dict[str, Any]:
    if kind == "message":
        return {"required": True, "content": {
            "application/json": {"schema": {"oneOf": [
                {"type": "object", "required": ["message"], "properties": {"message": _STRING}},
                {"type": "object"}, {"type": "array"}]}},
            "application/x-www-form-urlencoded": {"schema": {
                "type": "object", "required": ["message"], "properties": {"message": _STRING}}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        }}
    schema = {} if kind == "any" else _ref(kind)
    return {"required": kind not in ("NonceRequest", "WorkersRequest", "any"),
            "content": {"application/json": {"schema": schema}}}


def _operation(operation_id: str, summary: str, parameters: list, body: Any, result: Any) -> dict[str, Any]:
    errors = {code: {"description": text,
                     "content": {"application/json": {"schema": _ref("ErrorEnvelope")}}}
              for code, text in _ERRORS.items()}
    ok: dict[str, Any]
    if result == "raw":
        ok = {"description": summary, "content": {"application/octet-stream": {
            "schema": {"type": "string", "format": "binary"}}}}
    elif result == "document":
        ok = {"description": "An OpenAPI 3 document", "content": {"application/json": {
            "schema": {"type": "object"}}}}
        errors = {}
    else:
        ok = {"description": "Success, in Abaco's envelope", "content": {"application/json": {
            "schema": _envelope_with(result)}}}
        if operation_id == "sendMessage":
            ok["content"]["application/octet-stream"] = {"schema": {"type": "string", "format": "binary"}}
    out: dict[str, Any] = {"operationId": operation_id, "summary": summary, "parameters": parameters,
                           "responses": {"200": ok, **errors}}
    if body is not None:
        out["requestBody"] = _request_body(body)
    if result == "document":
        out["security"] = []
    return out


def openapi_document(server_url: str = "http://127.0.0.1:5000", prefix: str = "/actors/v2") -> dict[str, Any]:
    """The OpenAPI 3.0 document of the Abaco v2 API as this emulator serves it.

    Every path is also served under `/actors` instead of `/actors/v2`.
    """
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        if op.emulator_only:
            continue
        parameters = [_PATH_PARAMETERS[name] for name in op.parameters] + [
            _QUERY_PARAMETERS[name] for group in op.query for name in _QUERY_GROUPS[group]]
        body = _BODY_SCHEMAS[op.body] if op.body else None
        result = _RESULT_SCHEMAS[op.result]
        if "params" in op.query and op.result != "search":
            result = ("or a search", result)
        paths.setdefault(prefix + op.path, {})[op.method.lower()] = _operation(
            op.name, op.summary, copy.deepcopy(parameters), body, result)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Abaco actors API v2 (abaco-emulator)",
            "version": VERSION,
            "description": "TACC's Abaco actors service as reproduced by abaco-emulator. Every path is also "
                           "served with the prefix /actors instead of /actors/v2. Credentials: "
                           "'Authorization: Bearer <token>', an X-Jwt-Assertion-<TENANT> header, or "
                           "?x-nonce=<nonce id>; without configured tokens the server is open.",
        },
        "servers": [{"url": server_url.rstrip("/")}],
        "security": [{"bearer": []}, {"jwt": []}, {"nonce": []}],
        "paths": paths,
        "components": {
            "schemas": copy.deepcopy(SCHEMAS),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "jwt": {"type": "apiKey", "in": "header", "name": "X-Jwt-Assertion-DEV-DEVELOP"},
                "nonce": {"type": "apiKey", "in": "query", "name": "x-nonce"},
            },
        },
    }
