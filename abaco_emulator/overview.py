"""The emulator's own paged views of actors and executions: what the dashboard polls.

Abaco's listings answer every record at once (an actor's executions summary lists all of
them), which a page refreshed every second cannot afford with 100,000 executions. These
views answer one page, newest first, through the store's per-actor index, with what a
person watching wants on one line: workers, mailbox depth, last execution, pending
results. They are the service's (`ActorsService.overview_*` call them, reached through
`operations.perform` like every operation), so they see exactly what the caller may see.
"""
from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, Mapping

from . import models
from .errors import BadRequest

if TYPE_CHECKING:
    from .service import Access, ActorsService

DEFAULT_PAGE = 50
MAX_PAGE = 500
# Variables the emulator sets itself; the token among them is a credential, never shown.
_HIDDEN_VARIABLE_PREFIX = "_abaco_"


def _page_argument(params: Mapping[str, Any], name: str, default: int, most: int | None = None) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"Invalid {name}: expected a whole number, got {value!r}.") from None
    if number < 0 or (most is not None and number > most):
        upper = f" and {most}" if most is not None else ""
        raise BadRequest(f"Invalid {name}: expected a number between 0{upper}, got {number}.")
    return number


def _text_filter(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None or not str(value).strip():
        return None
    return str(value).strip()


def _execution_line(service: "ActorsService", record: Mapping[str, Any]) -> dict[str, Any]:
    results = service.store.results.get(record["id"])
    return {
        "id": record["id"], "status": record["status"], "executor": record["executor"],
        "worker_id": record.get("worker_id"), "message_received_time": record.get("message_received_time"),
        "start_time": record.get("start_time"), "finish_time": record.get("finish_time"),
        "runtime": record.get("runtime", 0), "cpu": record.get("cpu", 0), "io": record.get("io", 0),
        "exit_code": record.get("exit_code"), "results": len(results["items"]) if results else 0,
    }


def _last_execution(service: "ActorsService", actor_id: str, total: int) -> dict[str, Any] | None:
    if not total:
        return None
    last = service.store.executions.by_actor(actor_id, total - 1, 1)
    if not last:
        return None
    record = last[0]
    return {"id": record["id"], "status": record["status"],
            "time": record.get("finish_time") or record.get("start_time") or record.get("message_received_time")}


def actors_page(service: "ActorsService", access: "Access", params: Mapping[str, Any]) -> dict[str, Any]:
    """One page of the actors the caller may read, newest first, filtered by `owner`,
    `status` and `search` (a part of the id, name or image); also every owner and
    status count of the unfiltered list, for the filters' choices."""
    skip = _page_argument(params, "skip", 0)
    limit = _page_argument(params, "limit", DEFAULT_PAGE, MAX_PAGE)
    owner, status, search = (_text_filter(params, name) for name in ("owner", "status", "search"))
    caller = access.caller
    visible = [a for a in service.store.actors.all()
               if a["tenant"] == caller.tenant and service.level_of(caller.username, a["id"]) > models.Level.NONE]
    owners = sorted({a["owner"] for a in visible})
    statuses: dict[str, int] = {}
    for actor in visible:
        statuses[actor["status"]] = statuses.get(actor["status"], 0) + 1
    needle = search.lower() if search else None
    chosen = [a for a in reversed(visible)
              if (owner is None or a["owner"] == owner)
              and (status is None or a["status"] == status.upper())
              and (needle is None or any(needle in str(a.get(k) or "").lower() for k in ("id", "name", "image")))]
    lines = []
    for actor in chosen[skip:skip + limit]:
        actor_id = actor["id"]
        total = service.store.executions.count_by_actor(actor_id)
        lines.append({
            "id": actor_id, "name": actor.get("name"), "image": actor["image"], "owner": actor["owner"],
            "status": actor["status"], "status_message": actor.get("status_message") or "",
            "description": actor.get("description") or "", "create_time": actor.get("create_time"),
            "stateless": actor.get("stateless"), "type": actor.get("type"),
            "link": actor.get("link") or "", "cron_schedule": actor.get("cron_schedule") if actor.get("cron_on")
            else None,
            "default_environment": {str(k): str(v) for k, v in (actor.get("default_environment") or {}).items()},
            "workers": service.store.workers.count_by_actor(actor_id),
            "mailbox": service.engine.queued(actor_id),
            "total_executions": total,
            "last_execution": _last_execution(service, actor_id, total),
        })
    return {"actors": lines, "total": len(chosen), "skip": skip, "limit": limit,
            "owners": owners, "statuses": statuses}


def executions_page(service: "ActorsService", access: "Access", params: Mapping[str, Any]) -> dict[str, Any]:
    """One page of an actor's executions, newest first; with `status`, only those in it."""
    skip = _page_argument(params, "skip", 0)
    limit = _page_argument(params, "limit", DEFAULT_PAGE, MAX_PAGE)
    status = _text_filter(params, "status")
    actor_id = access.actor["id"]
    executions = service.store.executions
    if status is None:  # the index pages without reading the other records
        total = executions.count_by_actor(actor_id)
        end = max(total - skip, 0)
        start = max(end - limit, 0)
        records = list(reversed(executions.by_actor(actor_id, start, end - start))) if end else []
    else:
        wanted = status.upper()
        matching = [r for r in executions.by_actor(actor_id) if r["status"] == wanted]
        total = len(matching)
        records = list(reversed(matching))[skip:skip + limit]
    return {"actor_id": actor_id, "executions": [_execution_line(service, r) for r in records],
            "total": total, "skip": skip, "limit": limit}


def execution_detail(service: "ActorsService", access: "Access", record: Mapping[str, Any]) -> dict[str, Any]:
    """One execution as the dashboard shows it: its line, its timings, its final state,
    and the environment it was sent with while its message is still stored (the
    emulator's own `_abaco_` variables, a token among them, left out)."""
    actor = access.actor
    message = service.store.messages.get(record["id"])
    environment = {str(k): str(v) for k, v in (actor.get("default_environment") or {}).items()}
    if message is not None:
        environment.update(message.get("environment") or {})
    return {**_execution_line(service, record), "actor_id": actor["id"],
            "final_state": record.get("final_state"),
            "environment": {k: v for k, v in environment.items() if not k.startswith(_HIDDEN_VARIABLE_PREFIX)},
            "message_stored": message is not None}


def log_tail(text: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Logs from the `offset` a follower has already shown (0: all of them), so following
    an execution that writes for minutes costs what it wrote since, not all of it again.
    Logs only grow; an offset past their end (they were replaced) gets them whole, from 0."""
    offset = _page_argument(params, "offset", 0)
    if offset > len(text):
        offset = 0
    return {"logs": text[offset:], "offset": offset, "length": len(text)}


def result_item(service: "ActorsService", execution_id: str, index: str) -> bytes:
    """A result an execution sent that was not popped yet, by its place (0: the oldest),
    without consuming it: Abaco's results route pops, and a look must not steal a
    result from the program waiting for it."""
    try:
        place = int(index)
    except ValueError:
        raise BadRequest(f"Invalid result index {index!r}: expected a whole number.") from None
    results = service.store.results.get(execution_id)
    items = results["items"] if results else []
    if not 0 <= place < len(items):
        raise BadRequest(f"Execution {execution_id} has no unread result number {place} "
                         f"({len(items)} unread).")
    return base64.b64decode(items[place])
