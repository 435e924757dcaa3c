"""How records look to API callers: key case, `_links`, omitted nulls, the envelope.

Everything that decides the outside shape of an answer lives here, so that a second
dialect (Tapis v3: snake_case keys, another envelope) is a new class, not a fork.
Only top-level keys are converted: nested dicts (`finalState`, `mounts` entries,
`defaultEnvironment`) keep their own keys, as in Abaco.
"""
from __future__ import annotations

import functools
import re
from typing import Any

VERSION = "1.9.0"
DEFAULT_MESSAGE = "The request was successful"

# Fields the service keeps for itself and never shows.
_PRIVATE = {"state", "tenant", "db_id", "api_server_internal", "token_secret"}

# Envelope messages of the operations whose message is not the default one.
MESSAGES = {
    "add": "Actor created successfully.",
    "update": "Actor updated successfully.",
    "delete": "Actor deleted successfully.",
    "deleteMessages": "Actor mailbox purged.",
    "sendMessage": "The request was successful",
    "addAlias": "Actor alias created successfully.",
    "updateAlias": "Actor alias updated successfully.",
    "deleteAlias": "Actor alias deleted successfully.",
    "addNonce": "Actor nonce created successfully.",
    "deleteNonce": "Actor nonce deleted successfully.",
    "addWorker": "Workers scheduled successfully.",
    "deleteWorker": "Worker scheduled to be stopped.",
    "deleteExecution": "Issued force quit command for execution.",
    "updatePermissions": "Permission granted successfully.",
    "updateState": "State updated successfully.",
}

_CAMEL = re.compile(r"_([a-z0-9])")
_SNAKE = re.compile(r"(?<=[a-z0-9])([A-Z])")


@functools.lru_cache(maxsize=1024)  # a few dozen field names, converted on every answer
def to_camel(name: str) -> str:
    """`default_environment` -> `defaultEnvironment`; `_links` is left alone."""
    if name.startswith("_"):
        return name
    return _CAMEL.sub(lambda m: m.group(1).upper(), name)


def to_snake(name: str) -> str:
    """`defaultEnvironment` -> `default_environment` (also for dotted paths)."""
    return ".".join(_SNAKE.sub(lambda m: "_" + m.group(1).lower(), part) for part in name.split("."))


def envelope(result: Any, message: str = DEFAULT_MESSAGE, status: str = "success") -> dict[str, Any]:
    """Abaco's answer envelope; errors have `status` "error" and a null result."""
    return {"message": message, "result": result, "status": status, "version": VERSION}


class AbacoV2Shapes:
    """The hosted Abaco v2 dialect: camelCase top-level keys, nulls left out."""

    def __init__(self, api_server: str) -> None:
        self.api_server = api_server.rstrip("/")

    def _url(self, *parts: str) -> str:
        return "/".join([self.api_server, "actors", "v2", *parts])

    def _owner_url(self, owner: str) -> str:
        return f"{self.api_server}/profiles/v2/{owner}"

    def _public(self, record: dict[str, Any], hidden: set[str] = frozenset()) -> dict[str, Any]:
        return {
            to_camel(key): value
            for key, value in record.items()
            if value is not None and key not in _PRIVATE and key not in hidden
        }

    def actor(self, record: dict[str, Any]) -> dict[str, Any]:
        out = self._public(record)
        out["_links"] = {
            "self": self._url(record["id"]),
            "owner": self._owner_url(record["owner"]),
            "executions": self._url(record["id"], "executions"),
        }
        return out

    def execution(self, record: dict[str, Any]) -> dict[str, Any]:
        out = self._public(record)
        out["_links"] = {
            "self": self._url(record["actor_id"], "executions", record["id"]),
            "owner": self._owner_url(record["executor"]),
            "logs": self._url(record["actor_id"], "executions", record["id"], "logs"),
        }
        return out

    def executions_summary(self, actor: dict[str, Any], executions: list[dict[str, Any]], total: int,
                           totals: dict[str, int]) -> dict[str, Any]:
        return {
            "actorId": actor["id"],
            "apiServer": self.api_server,
            "owner": actor["owner"],
            "totalExecutions": total,
            "totalCpu": totals["cpu"],
            "totalIo": totals["io"],
            "totalRuntime": totals["runtime"],
            "executions": [
                {
                    "id": e["id"],
                    "status": e["status"],
                    "startTime": e.get("start_time"),
                    "finishTime": e.get("finish_time"),
                    "messageReceivedTime": e.get("message_received_time"),
                }
                for e in executions
            ],
            "_links": {
                "self": self._url(actor["id"], "executions"),
                "owner": self._owner_url(actor["owner"]),
            },
        }

    def message_sent(self, actor_id: str, execution_id: str, owner: str, shown: Any) -> dict[str, Any]:
        return {
            "executionId": execution_id,
            "msg": shown,
            "_links": {
                "self": self._url(actor_id, "executions", execution_id),
                "owner": self._owner_url(owner),
                "messages": self._url(actor_id, "messages"),
            },
        }

    def messages_count(self, actor: dict[str, Any], count: int) -> dict[str, Any]:
        return {
            "messages": count,
            "_links": {"self": self._url(actor["id"], "messages"), "owner": self._owner_url(actor["owner"])},
        }

    def logs(self, execution: dict[str, Any], text: str) -> dict[str, Any]:
        return {
            "logs": text,
            "_links": {
                "self": self._url(execution["actor_id"], "executions", execution["id"], "logs"),
                "owner": self._owner_url(execution["executor"]),
                "execution": self._url(execution["actor_id"], "executions", execution["id"]),
            },
        }

    def worker(self, record: dict[str, Any]) -> dict[str, Any]:
        return self._public(record, hidden={"actor_id"})

    def nonce(self, record: dict[str, Any]) -> dict[str, Any]:
        out = self._public(record)
        target = record.get("actor_id") or record.get("alias")
        out["_links"] = {
            "self": self._url(target, "nonces", record["id"]) if record.get("actor_id")
            else self._url("aliases", target, "nonces", record["id"]),
            "owner": self._owner_url(record["owner"]),
            "actor": self._url(record["actor_id"]) if record.get("actor_id") else self._url("aliases", target),
        }
        return out

    def alias(self, record: dict[str, Any]) -> dict[str, Any]:
        out = self._public(record)
        out["_links"] = {
            "self": self._url("aliases", record["alias"]),
            "owner": self._owner_url(record["owner"]),
            "actor": self._url(record["actor_id"]),
        }
        return out

    def search_record(self, kind: str, record: dict[str, Any]) -> dict[str, Any]:
        """Search answers with the stored (snake_case) documents, as Abaco does."""
        return {key: value for key, value in record.items() if key not in _PRIVATE}
