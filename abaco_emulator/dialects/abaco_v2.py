"""The Abaco v2 dialect: what agavepy and Abaco's own tests see.

Answers have camelCase top-level keys (the hosted service runs with `web.case` camel)
and leave out null fields; nested dicts (`finalState`, `defaultEnvironment`, `mounts`)
keep their own keys. Every answer is wrapped in `{message, result, status, version}`.
`_links` point at `{api_server}/actors/v2/...` and owners at `/profiles/v2/{user}`.
Request bodies are checked against the agavepy interface's schemas, with camelCase
field names, before their keys are read as snake_case.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from ..keycase import to_camel, to_snake
from ..operations import Operation
from ..schemas import OPTIONAL_BODIES, describe_body, validate
from . import Dialect, unchanged

VERSION = "1.9.0"

# Fields the service keeps for itself and never shows.
_PRIVATE = frozenset({"state", "tenant", "db_id"})


# -- answers: one renderer per result kind of the operation table ------------------

def _url(base: str, *parts: str) -> str:
    return "/".join([base, "actors", "v2", *parts])


def _owner_url(base: str, owner: str) -> str:
    return f"{base}/profiles/v2/{owner}"


def _public(record: Mapping[str, Any], hidden: frozenset[str] = frozenset()) -> dict[str, Any]:
    return {to_camel(key): value for key, value in record.items()
            if value is not None and key not in _PRIVATE and key not in hidden}


def _actor(record: Mapping[str, Any], base: str) -> dict[str, Any]:
    out = _public(record)
    out["_links"] = {
        "self": _url(base, record["id"]),
        "owner": _owner_url(base, record["owner"]),
        "executions": _url(base, record["id"], "executions"),
    }
    return out


def _execution(record: Mapping[str, Any], base: str) -> dict[str, Any]:
    out = _public(record)
    out["_links"] = {
        "self": _url(base, record["actor_id"], "executions", record["id"]),
        "owner": _owner_url(base, record["executor"]),
        "logs": _url(base, record["actor_id"], "executions", record["id"], "logs"),
    }
    return out


def _executions_summary(summary: Mapping[str, Any], base: str) -> dict[str, Any]:
    return {
        "actorId": summary["actor_id"],
        "apiServer": base,
        "owner": summary["owner"],
        "totalExecutions": summary["total_executions"],
        "totalCpu": summary["total_cpu"],
        "totalIo": summary["total_io"],
        "totalRuntime": summary["total_runtime"],
        "executions": [{"id": e["id"], "status": e["status"], "startTime": e.get("start_time"),
                        "finishTime": e.get("finish_time"), "messageReceivedTime": e.get("message_received_time")}
                       for e in summary["executions"]],
        "_links": {
            "self": _url(base, summary["actor_id"], "executions"),
            "owner": _owner_url(base, summary["owner"]),
        },
    }


def _message_sent(sent: Mapping[str, Any], base: str) -> dict[str, Any]:
    return {
        "executionId": sent["execution_id"],
        "msg": sent["msg"],
        "_links": {
            "self": _url(base, sent["actor_id"], "executions", sent["execution_id"]),
            "owner": _owner_url(base, sent["owner"]),
            "messages": _url(base, sent["actor_id"], "messages"),
        },
    }


def _messages_count(count: Mapping[str, Any], base: str) -> dict[str, Any]:
    return {
        "messages": count["messages"],
        "_links": {"self": _url(base, count["actor_id"], "messages"),
                   "owner": _owner_url(base, count["owner"])},
    }


def _logs(logs: Mapping[str, Any], base: str) -> dict[str, Any]:
    execution = _url(base, logs["actor_id"], "executions", logs["execution_id"])
    return {
        "logs": logs["logs"],
        "_links": {"self": execution + "/logs", "owner": _owner_url(base, logs["executor"]),
                   "execution": execution},
    }


def _worker(record: Mapping[str, Any], base: str) -> dict[str, Any]:
    return _public(record, hidden=frozenset({"actor_id"}))


def _nonce(record: Mapping[str, Any], base: str) -> dict[str, Any]:
    out = _public(record)
    out["_links"] = {
        "self": _url(base, record["actor_id"], "nonces", record["id"]),
        "owner": _owner_url(base, record["owner"]),
        "actor": _url(base, record["actor_id"]),
    }
    return out


def _alias(record: Mapping[str, Any], base: str) -> dict[str, Any]:
    out = _public(record)
    out["_links"] = {
        "self": _url(base, "aliases", record["alias"]),
        "owner": _owner_url(base, record["owner"]),
        "actor": _url(base, record["actor_id"]),
    }
    return out


def _search(found: Mapping[str, Any], base: str) -> dict[str, Any]:
    """The stored (snake_case) documents, as Abaco's search answers them."""
    return {"_metadata": found["_metadata"],
            "search": [{k: v for k, v in r.items() if k not in _PRIVATE} for r in found["search"]]}


def _listed(render: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    return lambda records, base: [render(r, base) for r in records]


class AbacoV2(Dialect):
    """Abaco v2 (camelCase, `/actors/v2` and the `/actors` form its test suite calls)."""

    name = "v2"
    prefixes = ("/actors/v2", "/actors")
    renderers: Mapping[str, Callable[[Any, str], Any]] = {
        "actor": _actor, "actors": _listed(_actor),
        "execution": _execution, "executions": _executions_summary,
        "message_sent": _message_sent, "messages": _messages_count, "logs": _logs,
        "worker": _worker, "workers": _listed(_worker),
        "nonce": _nonce, "nonces": _listed(_nonce),
        "alias": _alias, "aliases": _listed(_alias),
        "search": _search,
        **dict.fromkeys(("state", "permissions", "purged", "none", "raw", "document", "live_logs"), unchanged),
    }

    def envelope(self, result: Any, message: str) -> dict[str, Any]:
        return {"message": message, "result": result, "status": "success", "version": VERSION}

    def error(self, message: str) -> dict[str, Any]:
        return {"message": message, "result": None, "status": "error", "version": VERSION}

    def read_body(self, operation: Operation, body: Any) -> Any:
        schema = operation.body
        if schema is None or schema in ("state", "message"):
            return body
        if body is None and schema in OPTIONAL_BODIES:
            body = {}
        checked = validate(schema, body, describe_body(schema))
        return {to_snake(key): value for key, value in checked.items()}
