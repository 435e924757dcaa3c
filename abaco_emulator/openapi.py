"""The OpenAPI 3 document of the served API (`GET /actors/v2/openapi.json`).

Written out here rather than derived from the Flask routes, so that the test that
compares it with the app's url_map catches a route added, removed or renamed on one
side only. Schemas are plain JSON Schema (the subset OpenAPI 3.0 shares), so tests
also validate real answers against them.
"""
from __future__ import annotations

import copy
from typing import Any

from .shapes import VERSION

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
            "useContainerUid": {"type": "boolean"}, "token": _STRING, "hints": {"type": "array"},
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
    "SearchResult": {
        "type": "object", "required": ["_metadata", "search"],
        "properties": {
            "_metadata": {"type": "object",
                          "required": ["total_count", "records_skipped", "record_limit", "count_returned"],
                          "properties": {k: _INT for k in ("total_count", "records_skipped", "record_limit",
                                                           "count_returned")}},
            "search": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Envelope": {
        "type": "object", "required": ["message", "result", "status", "version"],
        "properties": {"message": _STRING, "result": {}, "status": {"type": "string", "enum": ["success"]},
                       "version": _STRING},
    },
    "ErrorEnvelope": {
        "type": "object", "required": ["message", "result", "status", "version"],
        "properties": {"message": _STRING, "result": {"enum": [None]},
                       "status": {"type": "string", "enum": ["error"]}, "version": _STRING},
    },
}


def _param(name: str, where: str = "path", schema: dict[str, Any] | None = None, description: str = "",
           required: bool | None = None) -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path" if required is None else required,
            "schema": schema or _STRING, "description": description}


_ID = _param("actor_id", description="An actor id or alias")
_EXECUTION = _param("execution_id", description="An execution id")
_WORKER = _param("worker_id", description="A worker id")
_NONCE = _param("nonce_id", description="A nonce id")
_ALIAS = _param("alias", description="An alias")
_SEARCH_TYPE = _param("search_type", schema={"type": "string", "enum": ["actors", "workers", "executions", "logs"]})
_PAGING = [_param("limit", "query", _INT, "at most this many records (default 100)"),
           _param("skip", "query", _INT, "skip this many records first"),
           _param("offset", "query", _INT, "synonym of skip (agavepy 0.9.5 sends it)"),
           _param("q", "query", _STRING, "a MongoDB-style JSON filter")]

# path, method, operationId, summary, path parameters, extra parameters,
# request body schema (name or None), result schema (None: null result; "raw": bytes).
_OPERATIONS: list[tuple[str, str, str, str, list, list, Any, Any]] = [
    ("", "get", "list", "List the actors the caller can read", [], _PAGING, None, ("array", "Actor")),
    ("", "post", "add", "Register an actor", [], [], "ActorRequest", "Actor"),
    ("/openapi.json", "get", "getOpenApi", "This document (no credentials needed)", [], [], None, "document"),
    ("/aliases", "get", "listAliases", "List aliases", [], [], None, ("array", "Alias")),
    ("/aliases", "post", "addAlias", "Create an alias", [], [], "AliasRequest", "Alias"),
    ("/aliases/{alias}", "get", "getAlias", "Get an alias", [_ALIAS], [], None, "Alias"),
    ("/aliases/{alias}", "put", "updateAlias", "Point an alias at another actor", [_ALIAS], [], "AliasRequest",
     "Alias"),
    ("/aliases/{alias}", "delete", "deleteAlias", "Delete an alias", [_ALIAS], [], None, None),
    ("/aliases/{alias}/nonces", "get", "listAliasNonces", "List the nonces of an alias", [_ALIAS], [], None,
     ("array", "Nonce")),
    ("/aliases/{alias}/nonces", "post", "addAliasNonce", "Create a nonce for an alias", [_ALIAS], [],
     "NonceRequest", "Nonce"),
    ("/aliases/{alias}/nonces/{nonce_id}", "get", "getAliasNonce", "Get a nonce of an alias",
     [_ALIAS, _NONCE], [], None, "Nonce"),
    ("/aliases/{alias}/nonces/{nonce_id}", "delete", "deleteAliasNonce", "Delete a nonce of an alias",
     [_ALIAS, _NONCE], [], None, None),
    ("/search/{search_type}", "get", "getSearch",
     "Search actors, workers, executions or logs: search, exactsearch, field=value, field.<op>=value",
     [_SEARCH_TYPE], [p for p in _PAGING if p["name"] != "offset"]
     + [_param("search", "query"), _param("exactsearch", "query")], None, "SearchResult"),
    ("/{actor_id}", "get", "get", "Get an actor", [_ID], [], None, "Actor"),
    ("/{actor_id}", "put", "update", "Replace an actor's description", [_ID], [], "ActorRequest", "Actor"),
    ("/{actor_id}", "delete", "delete", "Delete an actor", [_ID], [], None, None),
    ("/{actor_id}/messages", "get", "getMessages", "Count the queued messages", [_ID], [], None,
     "MessagesCount"),
    ("/{actor_id}/messages", "post", "sendMessage",
     "Send a message (JSON, form field `message`, or application/octet-stream); other query parameters "
     "become environment variables", [_ID],
     [_param("_abaco_synchronous", "query", {"type": "boolean"},
             "wait for the execution and answer with its first result (or its logs)"),
      _param("x-nonce", "query", _STRING, "a nonce used instead of credentials")],
     "message", "MessageSent"),
    ("/{actor_id}/messages", "delete", "deleteMessages", "Purge the mailbox", [_ID], [], None, "MailboxPurged"),
    ("/{actor_id}/state", "get", "getState", "Get a stateful actor's state", [_ID], [], None, "State"),
    ("/{actor_id}/state", "post", "updateState", "Replace a stateful actor's state (any JSON)", [_ID], [],
     "any", "Actor"),
    ("/{actor_id}/permissions", "get", "getPermissions", "Get the permissions", [_ID], [], None, "Permissions"),
    ("/{actor_id}/permissions", "post", "updatePermissions", "Grant a permission level", [_ID], [],
     "PermissionRequest", "Permissions"),
    ("/{actor_id}/workers", "get", "listWorkers", "List workers", [_ID], [], None, ("array", "Worker")),
    ("/{actor_id}/workers", "post", "addWorker", "Schedule workers (admins only)", [_ID], [], "WorkersRequest",
     None),
    ("/{actor_id}/workers/{worker_id}", "get", "getWorker", "Get a worker", [_ID, _WORKER], [], None, "Worker"),
    ("/{actor_id}/workers/{worker_id}", "delete", "deleteWorker", "Stop a worker", [_ID, _WORKER], [], None,
     None),
    ("/{actor_id}/nonces", "get", "listNonces", "List nonces", [_ID], [], None, ("array", "Nonce")),
    ("/{actor_id}/nonces", "post", "addNonce", "Create a nonce", [_ID], [], "NonceRequest", "Nonce"),
    ("/{actor_id}/nonces/{nonce_id}", "get", "getNonce", "Get a nonce", [_ID, _NONCE], [], None, "Nonce"),
    ("/{actor_id}/nonces/{nonce_id}", "delete", "deleteNonce", "Delete a nonce", [_ID, _NONCE], [], None, None),
    ("/{actor_id}/executions", "get", "listExecutions", "Summary of the executions", [_ID], _PAGING, None,
     "ExecutionsSummary"),
    ("/{actor_id}/executions/{execution_id}", "get", "getExecution", "Get an execution", [_ID, _EXECUTION], [],
     None, "Execution"),
    ("/{actor_id}/executions/{execution_id}", "delete", "deleteExecution", "Force-quit a RUNNING execution",
     [_ID, _EXECUTION], [], None, None),
    ("/{actor_id}/executions/{execution_id}/logs", "get", "getExecutionLogs", "An execution's logs",
     [_ID, _EXECUTION], [], None, "Logs"),
    ("/{actor_id}/executions/{execution_id}/results", "get", "getOneExecutionResult",
     "Pop the oldest result: raw bytes, no envelope; empty when none are left", [_ID, _EXECUTION], [], None,
     "raw"),
]

_ERRORS = {
    "400": "Invalid input, not authorized, or does not exist (Abaco answers 400 for all three)",
    "401": "Missing or invalid credentials (when the server has tokens configured)",
    "404": "Unknown alias, identifier or worker; a stateless actor's state",
    "405": "Unknown route or method",
    "413": "Request body too large",
}


def _envelope_with(result: Any) -> dict[str, Any]:
    if result is None:
        inner: dict[str, Any] = {"enum": [None]}
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
    for path, method, operation_id, summary, path_params, extra, body, result in _OPERATIONS:
        paths.setdefault(prefix + path, {})[method] = _operation(operation_id, summary,
                                                                 copy.deepcopy(path_params + extra), body, result)
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
