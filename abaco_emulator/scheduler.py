"""What happens because time passes: cron executions and log expiry, on the emulator's clock.

A scheduler thread wakes at each due moment of the emulator's `Clock` (the next cron hour
of any actor, the next log to expire; at least once a minute) and runs the check Abaco's
`CronResource.get` runs: every actor whose `cronNextEx` hour has come gets an execution
for `cron` when its `cronOn` is set, and its `cronNextEx` moves on either way (`cron.due`).
Logs are stamped with their expiry when they are written (`logEx`, capped, or the
default: `LogSettings`) and deleted once it passes.

`advance(seconds)` moves the clock for tests: every check that falls due in the span runs,
in order, at its own moment, before it returns. The clock's offset is kept in the store,
so an emulator reopened on a `db_path` does not go back in time.
"""
from __future__ import annotations

import heapq
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from . import models
from .clock import Clock
from .contract import STR, Message
from .cron import due, next_due
from .engine import Engine, EngineEvent
from .errors import AbacoError, BadRequest
from .models import ActorRecord
from .store import Store

log = logging.getLogger("abaco_emulator.scheduler")

CRON_MESSAGE = "This is your cron execution"
_CLOCK_RECORD = "clock_offset"
_MAX_WAIT = 60.0  # seconds: the thread looks again at least this often
MAX_ADVANCE = 100 * 366 * 24 * 3600.0  # a century: beyond it a slip of a test, not a plan


@dataclass(frozen=True)
class LogSettings:
    """How long logs live (Abaco's `web.log_ex` and `web.log_ex_limit`, in seconds): an
    actor's `logEx` is capped at `limit`; without one, `default`. Negative: for ever."""

    default: int = 43200
    limit: int = 86400

    def ttl(self, actor: ActorRecord) -> int:
        own = actor.get("log_ex")
        if own is None:
            return self.default
        return own if self.limit < 0 else min(int(own), self.limit)


class Scheduler:
    """Runs what the emulator's clock makes due, in real time and on `advance`."""

    def __init__(self, store: Store, engine: Engine, clock: Clock, logs: LogSettings | None = None) -> None:
        self.store = store
        self.engine = engine
        self.clock = clock
        self.logs = logs or LogSettings()
        kept = store.get("stats", _CLOCK_RECORD)
        if kept is not None and kept.get("offset", 0) > clock.offset_seconds:
            clock.advance(kept["offset"] - clock.offset_seconds)
        self._expiries: list[tuple[float, str]] = []  # (when, execution id), a heap
        self._expiries_lock = threading.Lock()  # taken inside store transactions: never the other way round
        self._check_lock = threading.Lock()     # one check at a time (the thread's, or advance's)
        self._wake = threading.Condition()
        self._closed = False
        self._woken = False  # something changed since the thread last looked
        self._thread = threading.Thread(target=self._run, name="abaco-scheduler", daemon=True)

    def start(self) -> None:
        for record in self.store.logs.all():
            if record.get("expires_at") is not None:
                self._expiries.append((float(record["expires_at"]), record["id"]))  # type: ignore[arg-type]
        heapq.heapify(self._expiries)
        self.engine.subscribe(self._on_event)
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    # -- the test clock ----------------------------------------------------------------
    def advance(self, seconds: Any) -> datetime:
        """Move the clock `seconds` forward; every cron execution and log expiry due in
        that span happens (cron executions queued) before it returns. The new now."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= MAX_ADVANCE:
            raise BadRequest(f"seconds must be a number from 0 to {int(MAX_ADVANCE)}, not {seconds!r}.")
        with self._check_lock:
            target = self.clock.now() + timedelta(seconds=seconds)
            self._check(self.clock.now())
            while True:
                moment = self._next_moment(self.clock.now())
                if moment is None or moment > target:
                    break
                self.clock.advance_to(moment)
                self._keep_offset()  # before what it makes happen: a crash never restarts behind it
                self._check(moment)
            self.clock.advance_to(target)
            self._keep_offset()
            self._check(target)
        self.wake()  # the thread's next wait is shorter now
        return self.clock.now()

    def _keep_offset(self) -> None:
        offset = self.clock.offset_seconds
        with self.store.transaction():
            if self.store.get("stats", _CLOCK_RECORD) is None:
                self.store.insert("stats", {"id": _CLOCK_RECORD, "offset": offset})
            else:
                self.store.update("stats", _CLOCK_RECORD, {"offset": offset})

    # -- the thread --------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                with self._check_lock:
                    now = self.clock.now()
                    self._check(now)
                    moment = self._next_moment(now)
                wait = _MAX_WAIT if moment is None else min(_MAX_WAIT, (moment - self.clock.now()).total_seconds())
                with self._wake:
                    if not self._woken and not self._closed:
                        self._wake.wait(max(wait, 0.0))
                    self._woken = False
                    if self._closed:
                        return
        except BaseException as exc:  # a bug of the emulator: kept for the test to see
            self.engine.report(exc)

    def _next_moment(self, now: datetime) -> datetime | None:
        """The first moment after `now` when a cron hour comes or a log expires."""
        moments = []
        for next_ex in self.store.actors.indexed_values():
            if next_ex is None:
                continue
            try:
                moment = next_due(next_ex)
            except ValueError:
                continue
            if moment > now:
                moments.append(moment)
        with self._expiries_lock:
            if self._expiries:
                moments.append(datetime.fromtimestamp(self._expiries[0][0], timezone.utc))
        later = [m for m in moments if m > now]
        return min(later) if later else None

    def _check(self, now: datetime) -> None:
        self._fire_crons(now)
        self._expire_logs(now.timestamp())

    # -- cron --------------------------------------------------------------------------
    def _fire_crons(self, now: datetime) -> None:
        for next_ex in self.store.actors.indexed_values():
            if next_ex is None:
                continue
            try:
                if next_due(next_ex) > now:
                    continue
            except ValueError:
                continue
            for actor in self.store.actors.by_index(next_ex):
                self._fire(actor, now)

    def _fire(self, actor: ActorRecord, now: datetime) -> None:
        """One actor's hourly check: its cron execution (stored with the schedule's step, in
        one transaction, so a crash neither loses nor repeats it), then queued."""
        queued: str | None = None
        with self.store.transaction():
            current = self.store.actors.get(actor["id"])
            if current is None or current.get("cron_next_ex") != actor.get("cron_next_ex"):
                return  # deleted, or moved on, since it was listed
            try:
                next_ex = due(current.get("cron_schedule") or "", current["cron_next_ex"] or "", now)
            except (BadRequest, ValueError, OverflowError) as exc:
                log.warning("actor %s has a cron schedule the emulator cannot step: %s", actor["id"], exc)
                return
            if next_ex is None:
                return
            if current.get("cron_on"):
                try:
                    queued = self.engine.store_message(actor["id"], Message(STR, text=CRON_MESSAGE),
                                                       models.CRON_EXECUTOR)
                except AbacoError:  # being deleted
                    return
            self.store.actors.update(actor["id"], {"cron_next_ex": next_ex})
        if queued is not None:
            self.engine.notify(actor["id"], queued)

    # -- what the engine records ----------------------------------------------------------
    def _on_event(self, change: EngineEvent) -> None:
        """Inside the transaction that writes an execution's logs: stamp their expiry."""
        if change.type != "EXECUTION_COMPLETE" or change.execution_id is None:
            return
        actor = self.store.actors.get(change.actor_id)
        if actor is None or self.store.logs.get(change.execution_id) is None:
            return
        ttl = self.logs.ttl(actor)
        if ttl < 0:
            return
        expires_at = self.clock.timestamp() + ttl
        self.store.logs.update(change.execution_id, {"expires_at": expires_at})
        with self._expiries_lock:
            heapq.heappush(self._expiries, (expires_at, change.execution_id))
        self.store.after_commit(self.wake)

    def wake(self) -> None:
        """Look again at once: a schedule was registered or changed, or a log stamped."""
        with self._wake:
            self._woken = True
            self._wake.notify_all()

    def _expire_logs(self, now: float) -> None:
        while True:
            with self._expiries_lock:
                if not self._expiries or self._expiries[0][0] > now:
                    return
                expires_at, execution_id = heapq.heappop(self._expiries)
            with self.store.transaction():
                record = self.store.logs.get(execution_id)
                # Still the logs that were stamped (an execution run again writes new ones).
                if record is not None and record.get("expires_at") == expires_at:
                    self.store.logs.delete(execution_id)


def clock_view(clock: Clock) -> dict[str, Any]:
    """What the emulator-only clock route answers."""
    return {"now": clock.stamp(), "offset_seconds": clock.offset_seconds,
            "real_now": models.format_time(datetime.now(timezone.utc))}
