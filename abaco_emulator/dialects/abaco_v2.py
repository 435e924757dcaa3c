"""The Abaco v2 dialect: what agavepy and Abaco's own tests see.

Answers have camelCase top-level keys (the hosted service runs with `web.case` camel).
Objects shown through Abaco's DAOs (actors, executions, nonces, workers, aliases) leave
out their null fields; answers Abaco builds with `dict_to_camel` (search records, the
admin routes) keep them. Nested dicts (`finalState`, `defaultEnvironment`) keep their
own keys. Times Abaco shows with `display_time` are the string "None" when unset.
Every answer is wrapped in `{message, result, status, version}`. `_links` point at
`{api_server}/actors/v2/...` and owners at `/profiles/v2/{user}`.

Request bodies are read with camelCase names: JSON against the agavepy interface's
schemas (strict types), forms as Abaco's reqparse reads them (`forms.py`). Fields Abaco
does not know, snake_case names included, are ignored, as Abaco ignores them.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from ..forms import SPECS, FormBody, read_form, read_json
from ..keycase import to_camel
from ..operations import Operation
from ..schemas import describe_body, validate
from . import Dialect, unchanged

VERSION = "1.9.0"

# What the DAOs' display() drops, per kind of record (the service's own fields too).
_HIDDEN_ACTOR = frozenset({"tenant", "db_id", "api_server", "executions"})
_HIDDEN_NONCE = frozenset({"tenant", "resource"})
_HIDDEN_ALIAS = frozenset({"id", "tenant", "create_time"})
_HIDDEN_WORKER = frozenset({"actor_id"})
# Fields display_time shows as "None" when unset.
_DISPLAYED_TIMES = frozenset({"create_time", "last_use_time", "last_execution_time", "last_health_check_time",
                              "last_update_time"})


def _shown_time(value: Any) -> Any:
    return "None" if value is None else value


# -- answers: one renderer per result kind of the operation table ------------------

def _url(base: str, *parts: str) -> str:
    return "/".join([base, "actors", "v2", *parts])


def _owner_url(base: str, owner: str) -> str:
    return f"{base}/profiles/v2/{owner}"


def _public(record: Mapping[str, Any], hidden: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A DAO's display in camel mode: null fields left out."""
    return {to_camel(key): value for key, value in record.items() if value is not None and key not in hidden}


def _camel(record: Mapping[str, Any], hidden: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Abaco's dict_to_camel: every key converted, nulls kept."""
    return {to_camel(key): value for key, value in record.items() if key not in hidden}


def _actor(record: Mapping[str, Any], base: str) -> dict[str, Any]:
    out = _public(record, _HIDDEN_ACTOR)
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


def _mailbox_links(answer: Mapping[str, Any], base: str) -> dict[str, Any]:
    return {"self": _url(base, answer["actor_id"], "messages"), "owner": _owner_url(base, answer["owner"])}


def _messages_count(count: Mapping[str, Any], base: str) -> dict[str, Any]:
    return {"messages": count["messages"], "_links": _mailbox_links(count, base)}


def _purged(purged: Mapping[str, Any], base: str) -> dict[str, Any]:
    return {"msg": purged["msg"], "_links": _mailbox_links(purged, base)}


def _log_links(base: str, actor_id: str, execution_id: str, owner: str) -> dict[str, str]:
    execution = _url(base, actor_id, "executions", execution_id)
    return {"self": execution + "/logs", "owner": _owner_url(base, owner), "execution": execution}


def _logs(logs: Mapping[str, Any], base: str) -> dict[str, Any]:
    return {"logs": logs["logs"],
            "_links": _log_links(base, logs["actor_id"], logs["execution_id"], logs["executor"])}


def _worker(record: Mapping[str, Any], base: str) -> dict[str, Any]:
    shown = {key: _shown_time(value) if key in _DISPLAYED_TIMES else value for key, value in record.items()}
    return _public(shown, _HIDDEN_WORKER)


def _nonce(record: Mapping[str, Any], base: str) -> dict[str, Any]:
    shown = {key: _shown_time(value) if key in _DISPLAYED_TIMES else value for key, value in record.items()}
    out = _public(shown, _HIDDEN_NONCE)
    actor = str(record.get("actor_id"))  # "None" for an alias's nonce, as Abaco writes it
    out["_links"] = {
        "self": _url(base, actor, "nonces", record["id"]),
        "owner": _owner_url(base, record["owner"]),
        "actor": _url(base, actor),
    }
    return out


def _alias(record: Mapping[str, Any], base: str) -> dict[str, Any]:
    out = _public(record, _HIDDEN_ALIAS)
    out["_links"] = {
        "self": _url(base, "aliases", record["alias"]),
        "owner": _owner_url(base, record["owner"]),
        "actor": _url(base, record["actor_id"]),
    }
    return out


def _search(found: Mapping[str, Any], base: str) -> dict[str, Any]:
    """Abaco's Search.post_processing: each record stripped and given `_links` per its
    type, then dict_to_camel (nulls kept); `_metadata` camelCase too."""
    kind, actors = found["search_type"], found["actors"]
    shown = []
    for record in found["search"]:
        if kind == "actors":
            out = _camel(record, _HIDDEN_ACTOR)
            out["_links"] = {"self": _url(base, record["id"]), "owner": _owner_url(base, record["owner"]),
                             "executions": _url(base, record["id"], "executions")}
        elif kind == "executions":
            out = _camel(record, frozenset({"api_server", "tenant"}))
            out["_links"] = {"self": _url(base, record["actor_id"], "executions", record["id"]),
                             "owner": _owner_url(base, record["executor"]),
                             "logs": _url(base, record["actor_id"], "logs")}
        elif kind == "workers":
            out = _camel(record, frozenset({"tenant"}))
        else:  # logs: the text and its links only
            actor = actors.get(record["actor_id"]) or {"id": record["actor_id"], "owner": ""}
            out = {"logs": record["logs"], "_links": _log_links(base, actor["id"], record["id"], actor["owner"])}
        shown.append(out)
    return {"_metadata": _camel(found["_metadata"]), "search": shown}


def _admin(value: Any, base: str) -> Any:
    """The admin routes build their answers with dict_to_camel (nulls kept)."""
    if isinstance(value, list):
        return [_camel(record) for record in value]
    return {key: _camel(item) if isinstance(item, dict) else [_camel(r) for r in item] for key, item in value.items()}


def _listed(render: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    return lambda records, base: [render(r, base) for r in records]


class AbacoV2(Dialect):
    """Abaco v2 (camelCase, `/actors/v2` and the `/actors` form its test suite calls)."""

    name = "v2"
    prefixes = ("/actors/v2", "/actors")
    renderers: Mapping[str, Callable[[Any, str], Any]] = {
        "actor": _actor, "actors": _listed(_actor),
        "execution": _execution, "executions": _executions_summary,
        "message_sent": _message_sent, "messages": _messages_count, "purged": _purged, "logs": _logs,
        "worker": _worker, "workers": _listed(_worker),
        "nonce": _nonce, "nonces": _listed(_nonce),
        "alias": _alias, "aliases": _listed(_alias),
        "search": _search, "admin": _admin,
        "utilization": lambda value, base: _camel(value),
        **dict.fromkeys(("state", "permissions", "none", "raw", "document", "live_logs", "overview"), unchanged),
    }

    def envelope(self, result: Any, message: str) -> dict[str, Any]:
        return {"message": message, "result": result, "status": "success", "version": VERSION}

    def error(self, message: str) -> dict[str, Any]:
        return {"message": message, "result": None, "status": "error", "version": VERSION}

    def read_body(self, operation: Operation, body: Any) -> Any:
        schema = operation.body
        if schema is None or schema == "message":
            return body
        if schema == "state":  # JSON only: a form is no state (Abaco reads request.get_json())
            return None if isinstance(body, FormBody) else body
        spec = SPECS[schema]
        if body is None:  # no body at all: reqparse sees no fields
            body = FormBody(())
        if isinstance(body, FormBody):
            return read_form(spec, body, to_camel)
        return read_json(spec, validate(schema, body, describe_body(schema)), to_camel)
