"""Abaco's events: what an actor with a `link` or a `webhook` tells when it changes.

An actor that becomes READY or ERROR, and every execution of it that finishes, makes an
event (Abaco's `ActorEvent`, `ActorExecutionEvent`) with Abaco's fields. The engine
publishes the change inside the transaction that records it, and this module writes
what the event causes in that same transaction, so a crash keeps both or neither:

- `link`: the linked actor gets a message, the event itself, run for `Abaco Event` (as
  `events.process_link` does); it is queued once the transaction is written, in the
  order the events happened;
- `webhook`: the event (with the keys `process_webhook` adds) is kept in the store's
  outbox and POSTed as JSON by a sender thread, then dropped from the outbox; a failure
  is logged and never reaches the actor. The emulator sends only to loopback addresses
  unless it was allowed to send elsewhere (`allow_remote_webhooks`), never through a
  proxy, and follows no redirect then.
"""
from __future__ import annotations

import ipaddress
import logging
import queue
import threading
from typing import Any
from urllib.parse import urlsplit

import requests

from . import models
from .clock import Clock
from .contract import JSON, Message
from .engine import Engine, EngineEvent
from .errors import AbacoError
from .models import ActorRecord
from .store import Store

log = logging.getLogger("abaco_emulator.events")

EVENT_EXECUTOR = "Abaco Event"
# What Abaco sends events of (EXECUTION_STARTED is declared there, never sent).
_ACTOR_EVENTS = ("ACTOR_READY", "ACTOR_ERROR")
_EXECUTION_EVENT = "EXECUTION_COMPLETE"
WEBHOOK_TIMEOUT = 10.0  # seconds to connect, then to read: a hanging webhook delays only webhooks
OUTBOX_LIMIT = 10_000  # webhooks waiting to be sent; past it, events wait in the store for the next start


def loopback_url(url: str) -> bool:
    """Whether `url` is http(s) to a loopback address (an IP literal, or `localhost`):
    decided without a name lookup, which could itself reach a DNS server elsewhere (so
    `x.localhost`, which the system resolver may send to DNS, is not one)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False
    if parts.scheme not in ("http", "https"):
        return False
    if host == "localhost":  # /etc/hosts names it; other names could be looked up elsewhere
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class EventDispatcher:
    """Turns the engine's events into linked actors' messages and webhook POSTs."""

    def __init__(self, store: Store, engine: Engine, clock: Clock, *, allow_remote_webhooks: bool = False) -> None:
        self.store = store
        self.engine = engine
        self.clock = clock
        self.allow_remote_webhooks = allow_remote_webhooks
        self._outbox: "queue.Queue[str | None]" = queue.Queue(OUTBOX_LIMIT)
        self._session = requests.Session()
        self._session.trust_env = False  # no proxy from the environment: loopback stays loopback
        self._sender = threading.Thread(target=self._send_webhooks, name="abaco-webhooks", daemon=True)
        self._closing = False

    def start(self) -> None:
        """Subscribe to the engine and send what an earlier run left in the outbox."""
        self.engine.subscribe(self._on_event)
        self._sender.start()
        for record in self.store.events.all():
            self._queue(record["id"])

    def close(self, timeout: float = WEBHOOK_TIMEOUT + 1) -> None:
        """Stop sending; what is not sent stays in the outbox (of a `db_path` store)."""
        self._closing = True
        try:
            self._outbox.put_nowait(None)
        except queue.Full:
            pass  # the sender sees `_closing` after its current POST
        if self._sender.is_alive():
            self._sender.join(timeout)
        self._session.close()

    # -- inside the transaction that records the change ----------------------------------
    def _on_event(self, change: EngineEvent) -> None:
        if change.resumed:
            return
        if change.type in _ACTOR_EVENTS:
            if change.previous == change.status:  # set again, not changed
                return
        elif change.type != _EXECUTION_EVENT:
            return
        actor = self.store.actors.get(change.actor_id)
        if actor is None or not (actor.get("link") or actor.get("webhook")):
            return
        target = self._linked(actor)
        event = self._event(actor, change, target)
        extra = {"_abaco_Content_Type": JSON, "_abaco_username": EVENT_EXECUTOR,
                 "_abaco_api_server": self.engine.shown_api_server}
        if target is not None:
            try:
                execution_id = self.engine.store_message(target["id"], Message(JSON, text=repr(event), payload=event),
                                                         EVENT_EXECUTOR)
            except AbacoError as exc:  # the linked actor is being deleted
                log.warning("event %s of actor %s not sent to its link: %s", change.type, actor["id"], exc)
            else:
                extra["_abaco_execution_id"] = execution_id
                target_id = target["id"]
                self.store.after_commit(lambda: self.engine.notify(target_id, execution_id))
        webhook = actor.get("webhook")
        if webhook:
            record_id = models.new_id()
            self.store.events.insert({"id": record_id, "actor_id": actor["id"], "url": webhook,
                                      "event": {**event, **extra}})
            self.store.after_commit(lambda: self._queue(record_id))

    def _linked(self, actor: ActorRecord) -> ActorRecord | None:
        """The actor `link` names now (an id or an alias of the actor's tenant), if it exists."""
        link = actor.get("link")
        if not link:
            return None
        if models.looks_like_id(link):
            target = self.store.actors.get(link)
        else:
            alias = self.store.aliases.get(models.alias_id(actor["tenant"], link))
            target = self.store.actors.get(alias["actor_id"]) if alias is not None else None
        if target is None or target["tenant"] != actor["tenant"]:
            log.warning("actor %s links to %s, which does not exist: its event is not sent there", actor["id"], link)
            return None
        return target

    def _event(self, actor: ActorRecord, change: EngineEvent, target: ActorRecord | None) -> dict[str, Any]:
        """The event as Abaco's `Event.__init__` fills it in."""
        moment = self.clock.stamp()
        event: dict[str, Any] = {
            "tenant_id": actor["tenant"],
            "event_type": change.type,
            "event_time_utc": moment,
            "event_time_display": moment,
            "actor_id": actor["id"],
            "actor_dbid": actor["db_id"],
            "_abaco_link": target["db_id"] if target is not None else "",
            "_abaco_webhook": actor.get("webhook") or "",
        }
        if change.type == _EXECUTION_EVENT:
            event.update({"execution_id": change.execution_id, "status": change.status,
                          "exit_code": change.exit_code})
        else:
            event["status_message"] = change.status_message or " "
        return event

    # -- the sender thread -------------------------------------------------------------
    def _queue(self, record_id: str) -> None:
        """Hand a stored webhook to the sender; never blocks whoever caused the event."""
        try:
            self._outbox.put_nowait(record_id)
        except queue.Full:
            log.warning("%d webhooks wait to be sent (their receivers are slow): event %s stays stored and is "
                        "sent when the emulator is started again", OUTBOX_LIMIT, record_id)

    def _send_webhooks(self) -> None:
        while True:
            record_id = self._outbox.get()
            if record_id is None or self._closing:
                return
            record = self.store.events.get(record_id)
            if record is None:
                continue
            self._post(record["url"], record["event"], record["actor_id"])
            self.store.events.delete(record_id)

    def _post(self, url: str, event: dict[str, Any], actor_id: str) -> None:
        """One POST, as Abaco makes it; every failure is one line in the log."""
        if not self.allow_remote_webhooks and not loopback_url(url):
            log.warning("webhook of actor %s not sent: %s is not a loopback address (allow other addresses "
                        "with allow_remote_webhooks=True or serve --allow-remote-webhooks)", actor_id, url)
            return
        try:
            answer = self._session.post(url, json=event, timeout=WEBHOOK_TIMEOUT,
                                        allow_redirects=self.allow_remote_webhooks)
            answer.raise_for_status()
            if answer.is_redirect:
                raise requests.HTTPError(f"it answered {answer.status_code}: a redirect, which is not followed")
        except (requests.RequestException, ValueError) as exc:
            log.warning("webhook of actor %s to %s failed: %s (event %s)", actor_id, url, exc, event["event_type"])
