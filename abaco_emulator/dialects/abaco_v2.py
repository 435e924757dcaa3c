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
from . import Dialect

VERSION = "1.9.0"

# Fields the service keeps for itself and never shows.
_PRIVATE = frozenset({"state", "tenant", "db_id"})


class AbacoV2(Dialect):
    """Abaco v2 (camelCase, `/actors/v2` and the `/actors` form its test suite calls)."""

    name = "v2"
    prefixes = ("/actors/v2", "/actors")

    def __init__(self) -> None:
        self._renderers: dict[str, Callable[[Any, str], Any]] = {
            "actor": self._actor,
            "actors": lambda records, base: [self._actor(r, base) for r in records],
            "execution": self._execution,
            "executions": self._executions_summary,
            "message_sent": self._message_sent,
            "messages": self._messages_count,
            "logs": self._logs,
            "worker": self._worker,
            "workers": lambda records, base: [self._worker(r, base) for r in records],
            "nonce": self._nonce,
            "nonces": lambda records, base: [self._nonce(r, base) for r in records],
            "alias": self._alias,
            "aliases": lambda records, base: [self._alias(r, base) for r in records],
            "search": self._search,
        }

    # -- the envelope ------------------------------------------------------------------
    def envelope(self, result: Any, message: str) -> dict[str, Any]:
        return {"message": message, "result": result, "status": "success", "version": VERSION}

    def error(self, message: str) -> dict[str, Any]:
        return {"message": message, "result": None, "status": "error", "version": VERSION}

    # -- requests ----------------------------------------------------------------------
    def read_body(self, operation: Operation, body: Any) -> Any:
        schema = operation.body
        if schema is None or schema in ("state", "message"):
            return body
        if body is None and schema in OPTIONAL_BODIES:
            body = {}
        checked = validate(schema, body, describe_body(schema))
        return {to_snake(key): value for key, value in checked.items()}

    # -- answers -----------------------------------------------------------------------
    def render(self, kind: str, value: Any, api_server: str) -> Any:
        renderer = self._renderers.get(kind)
        return value if renderer is None else renderer(value, api_server)

    @staticmethod
    def _url(base: str, *parts: str) -> str:
        return "/".join([base, "actors", "v2", *parts])

    @staticmethod
    def _owner_url(base: str, owner: str) -> str:
        return f"{base}/profiles/v2/{owner}"

    @staticmethod
    def _public(record: Mapping[str, Any], hidden: frozenset[str] = frozenset()) -> dict[str, Any]:
        return {to_camel(key): value for key, value in record.items()
                if value is not None and key not in _PRIVATE and key not in hidden}

    def _actor(self, record: Mapping[str, Any], base: str) -> dict[str, Any]:
        out = self._public(record)
        out["_links"] = {
            "self": self._url(base, record["id"]),
            "owner": self._owner_url(base, record["owner"]),
            "executions": self._url(base, record["id"], "executions"),
        }
        return out

    def _execution(self, record: Mapping[str, Any], base: str) -> dict[str, Any]:
        out = self._public(record)
        out["_links"] = {
            "self": self._url(base, record["actor_id"], "executions", record["id"]),
            "owner": self._owner_url(base, record["executor"]),
            "logs": self._url(base, record["actor_id"], "executions", record["id"], "logs"),
        }
        return out

    def _executions_summary(self, summary: Mapping[str, Any], base: str) -> dict[str, Any]:
        out = {to_camel(key): value for key, value in summary.items() if key != "executions"}
        out["apiServer"] = base
        out["executions"] = [{"id": e["id"], "status": e["status"], "startTime": e.get("start_time"),
                              "finishTime": e.get("finish_time"),
                              "messageReceivedTime": e.get("message_received_time")}
                             for e in summary["executions"]]
        out["_links"] = {
            "self": self._url(base, summary["actor_id"], "executions"),
            "owner": self._owner_url(base, summary["owner"]),
        }
        return {key: out[key] for key in ("actorId", "apiServer", "owner", "totalExecutions", "totalCpu",
                                          "totalIo", "totalRuntime", "executions", "_links")}

    def _message_sent(self, sent: Mapping[str, Any], base: str) -> dict[str, Any]:
        return {
            "executionId": sent["execution_id"],
            "msg": sent["msg"],
            "_links": {
                "self": self._url(base, sent["actor_id"], "executions", sent["execution_id"]),
                "owner": self._owner_url(base, sent["owner"]),
                "messages": self._url(base, sent["actor_id"], "messages"),
            },
        }

    def _messages_count(self, count: Mapping[str, Any], base: str) -> dict[str, Any]:
        return {
            "messages": count["messages"],
            "_links": {"self": self._url(base, count["actor_id"], "messages"),
                       "owner": self._owner_url(base, count["owner"])},
        }

    def _logs(self, logs: Mapping[str, Any], base: str) -> dict[str, Any]:
        execution = self._url(base, logs["actor_id"], "executions", logs["execution_id"])
        return {
            "logs": logs["logs"],
            "_links": {"self": execution + "/logs", "owner": self._owner_url(base, logs["executor"]),
                       "execution": execution},
        }

    def _worker(self, record: Mapping[str, Any], base: str) -> dict[str, Any]:
        return self._public(record, hidden=frozenset({"actor_id"}))

    def _nonce(self, record: Mapping[str, Any], base: str) -> dict[str, Any]:
        out = self._public(record)
        out["_links"] = {
            "self": self._url(base, record["actor_id"], "nonces", record["id"]),
            "owner": self._owner_url(base, record["owner"]),
            "actor": self._url(base, record["actor_id"]),
        }
        return out

    def _alias(self, record: Mapping[str, Any], base: str) -> dict[str, Any]:
        out = self._public(record)
        out["_links"] = {
            "self": self._url(base, "aliases", record["alias"]),
            "owner": self._owner_url(base, record["owner"]),
            "actor": self._url(base, record["actor_id"]),
        }
        return out

    @staticmethod
    def _search(found: Mapping[str, Any], base: str) -> dict[str, Any]:
        """The stored (snake_case) documents, as Abaco's search answers them."""
        return {"_metadata": found["_metadata"],
                "search": [{k: v for k, v in r.items() if k not in _PRIVATE} for r in found["search"]]}
