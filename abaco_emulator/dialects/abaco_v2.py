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

import functools
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ..forms import SPECS, FormBody, read_form, read_json
from ..keycase import to_camel
from ..operations import Operation
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

@dataclass(frozen=True)
class Wire:
    """What Abaco's dialects show differently with the same display rules: the key case
    (`web_case`) and where `_links` point. The renderers below take one, so the Tapis v3
    dialect reuses them with its own."""

    key: Callable[[str], str]   # a snake_case field name as the wire shows it
    actors_path: str            # below `api_server`: "actors/v2"
    profiles_path: str          # where an owner's profile is: "profiles/v2"

    def url(self, base: str, *parts: str) -> str:
        return "/".join([base, self.actors_path, *parts])

    def owner_url(self, base: str, owner: str) -> str:
        return f"{base}/{self.profiles_path}/{owner}"


V2_WIRE = Wire(to_camel, "actors/v2", "profiles/v2")


def _public(record: Mapping[str, Any], wire: Wire, hidden: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A DAO's display: null fields left out."""
    return {wire.key(key): value for key, value in record.items() if value is not None and key not in hidden}


def _camel(record: Mapping[str, Any], wire: Wire, hidden: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Abaco's dict_to_camel (in camel mode): every key converted, nulls kept."""
    return {wire.key(key): value for key, value in record.items() if key not in hidden}


def _actor(record: Mapping[str, Any], base: str, wire: Wire = V2_WIRE) -> dict[str, Any]:
    out = _public(record, wire, _HIDDEN_ACTOR)
    out["_links"] = {
        "self": wire.url(base, record["id"]),
        "owner": wire.owner_url(base, record["owner"]),
        "executions": wire.url(base, record["id"], "executions"),
    }
    return out


def _execution(record: Mapping[str, Any], base: str, wire: Wire = V2_WIRE) -> dict[str, Any]:
    out = _public(record, wire)
    out["_links"] = {
        "self": wire.url(base, record["actor_id"], "executions", record["id"]),
        "owner": wire.owner_url(base, record["executor"]),
        "logs": wire.url(base, record["actor_id"], "executions", record["id"], "logs"),
    }
    return out


def _executions_summary(summary: Mapping[str, Any], base: str, wire: Wire = V2_WIRE) -> dict[str, Any]:
    k = wire.key
    return {
        k("actor_id"): summary["actor_id"],
        k("api_server"): base,
        "owner": summary["owner"],
        k("total_executions"): summary["total_executions"],
        k("total_cpu"): summary["total_cpu"],
        k("total_io"): summary["total_io"],
        k("total_runtime"): summary["total_runtime"],
        "executions": [{"id": e["id"], "status": e["status"], k("start_time"): e.get("start_time"),
                        k("finish_time"): e.get("finish_time"),
                        k("message_received_time"): e.get("message_received_time")}
                       for e in summary["executions"]],
        "_links": {
            "self": wire.url(base, summary["actor_id"], "executions"),
            "owner": wire.owner_url(base, summary["owner"]),
        },
    }


def _message_sent(sent: Mapping[str, Any], base: str, wire: Wire = V2_WIRE) -> dict[str, Any]:
    return {
        wire.key("execution_id"): sent["execution_id"],
        "msg": sent["msg"],
        "_links": {
            "self": wire.url(base, sent["actor_id"], "executions", sent["execution_id"]),
            "owner": wire.owner_url(base, sent["owner"]),
            "messages": wire.url(base, sent["actor_id"], "messages"),
        },
    }


def _mailbox_links(answer: Mapping[str, Any], base: str, wire: Wire = V2_WIRE) -> dict[str, Any]:
    return {"self": wire.url(base, answer["actor_id"], "messages"), "owner": wire.owner_url(base, answer["owner"])}


def _messages_count(count: Mapping[str, Any], base: str, wire: Wire = V2_WIRE) -> dict[str, Any]:
    return {"messages": count["messages"], "_links": _mailbox_links(count, base)}


def _purged(purged: Mapping[str, Any], base: str, wire: Wire = V2_WIRE) -> dict[str, Any]:
    return {"msg": purged["msg"], "_links": _mailbox_links(purged, base)}


def _log_links(wire: Wire, base: str, actor_id: str, execution_id: str, owner: str) -> dict[str, str]:
    execution = wire.url(base, actor_id, "executions", execution_id)
    return {"self": execution + "/logs", "owner": wire.owner_url(base, owner), "execution": execution}


def _logs(logs: Mapping[str, Any], base: str, wire: Wire = V2_WIRE) -> dict[str, Any]:
    return {"logs": logs["logs"],
            "_links": _log_links(wire, base, logs["actor_id"], logs["execution_id"], logs["executor"])}


def _worker(record: Mapping[str, Any], base: str, wire: Wire = V2_WIRE) -> dict[str, Any]:
    shown = {key: _shown_time(value) if key in _DISPLAYED_TIMES else value for key, value in record.items()}
    return _public(shown, wire, _HIDDEN_WORKER)


def _nonce(record: Mapping[str, Any], base: str, wire: Wire = V2_WIRE) -> dict[str, Any]:
    shown = {key: _shown_time(value) if key in _DISPLAYED_TIMES else value for key, value in record.items()}
    out = _public(shown, wire, _HIDDEN_NONCE)
    actor = str(record.get("actor_id"))  # "None" for an alias's nonce, as Abaco writes it
    out["_links"] = {
        "self": wire.url(base, actor, "nonces", record["id"]),
        "owner": wire.owner_url(base, record["owner"]),
        "actor": wire.url(base, actor),
    }
    return out


def _alias(record: Mapping[str, Any], base: str, wire: Wire = V2_WIRE) -> dict[str, Any]:
    out = _public(record, wire, _HIDDEN_ALIAS)
    out["_links"] = {
        "self": wire.url(base, "aliases", record["alias"]),
        "owner": wire.owner_url(base, record["owner"]),
        "actor": wire.url(base, record["actor_id"]),
    }
    return out


def _config(record: Mapping[str, Any], base: str, wire: Wire = V2_WIRE) -> dict[str, Any]:
    """ActorConfig.display(): its fields but the tenant (a secret's value as its token), no `_links`."""
    return {"name": record["name"], "value": record["value"], wire.key("is_secret"): record["is_secret"],
            "actors": record["actors"]}


def _search(found: Mapping[str, Any], base: str, wire: Wire = V2_WIRE) -> dict[str, Any]:
    """Abaco's Search.post_processing: each record stripped and given `_links` per its
    type, then dict_to_camel (nulls kept); `_metadata` camelCase too."""
    kind, actors = found["search_type"], found["actors"]
    shown = []
    for record in found["search"]:
        if kind == "actors":
            out = _camel(record, wire, _HIDDEN_ACTOR)
            out["_links"] = {"self": wire.url(base, record["id"]), "owner": wire.owner_url(base, record["owner"]),
                             "executions": wire.url(base, record["id"], "executions")}
        elif kind == "executions":
            out = _camel(record, wire, frozenset({"api_server", "tenant"}))
            out["_links"] = {"self": wire.url(base, record["actor_id"], "executions", record["id"]),
                             "owner": wire.owner_url(base, record["executor"]),
                             "logs": wire.url(base, record["actor_id"], "logs")}
        elif kind == "workers":
            out = _camel(record, wire, frozenset({"tenant"}))
        else:  # logs: the text and its links only
            actor = actors.get(record["actor_id"]) or {"id": record["actor_id"], "owner": ""}
            out = {"logs": record["logs"], "_links": _log_links(wire, base, actor["id"], record["id"], actor["owner"])}
        shown.append(out)
    return {"_metadata": _camel(found["_metadata"], wire), "search": shown}


def _admin(value: Any, base: str, wire: Wire = V2_WIRE) -> Any:
    """The admin routes build their answers with dict_to_camel (nulls kept)."""
    if isinstance(value, list):
        return [_camel(record, wire) for record in value]
    return {key: _camel(item, wire) if isinstance(item, dict) else [_camel(r, wire) for r in item]
            for key, item in value.items()}


def _listed(render: Callable[..., Any]) -> Callable[..., Any]:
    return lambda records, base, wire=V2_WIRE: [render(r, base, wire) for r in records]


def _utilization(value: Any, base: str, wire: Wire = V2_WIRE) -> Any:
    return _camel(value, wire)


# For every result kind of the operation table, its renderer (value, api_server, wire).
_RENDERERS: dict[str, Callable[..., Any]] = {
    "actor": _actor, "actors": _listed(_actor),
    "execution": _execution, "executions": _executions_summary,
    "message_sent": _message_sent, "messages": _messages_count, "purged": _purged, "logs": _logs,
    "worker": _worker, "workers": _listed(_worker),
    "nonce": _nonce, "nonces": _listed(_nonce),
    "alias": _alias, "aliases": _listed(_alias),
    "config": _config, "configs": _listed(_config),
    "search": _search, "admin": _admin, "utilization": _utilization,
}


def renderers_for(wire: Wire, **overrides: Callable[..., Any]) -> dict[str, Callable[[Any, str], Any]]:
    """The renderers of a dialect showing Abaco's records through `wire`; `overrides`
    replace some (value, api_server, wire) renderers by the dialect's own."""
    chosen = {**_RENDERERS, **overrides}
    out: dict[str, Callable[[Any, str], Any]] = {kind: functools.partial(render, wire=wire)
                                                 for kind, render in chosen.items()}
    out.update(dict.fromkeys(("state", "permissions", "none", "raw", "document", "live_logs", "clock",
                              "overview"), unchanged))
    return out


class AbacoV2(Dialect):
    """Abaco v2 (camelCase, `/actors/v2` and the `/actors` form its test suite calls)."""

    name = "v2"
    prefixes = ("/actors/v2", "/actors")
    renderers: Mapping[str, Callable[[Any, str], Any]] = renderers_for(V2_WIRE)

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
        return read_json(spec, schema, body, to_camel)
