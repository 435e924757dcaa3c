"""Emulators, actors and stored executions for the figures.

Filling a store with 100,000 executions by running them would take minutes, so the
figures run one real execution, read back the records the engine wrote for it (the
execution as `service.send_message` created it and `Engine._record` completed it, and
its log), and insert copies with fresh ids through the Store API
(`emulator.store.insert`), in transactions of 1,000. Each copy is built the way the
engine builds a record (see `copy_of`), so memory figures count what real executions
would hold (checked: 1,957 B per execution with this fill against 2,000 B when
20,000 executions with 100-byte logs really run through the local runner).
"""
from __future__ import annotations

import time
from typing import Any

from abaco_emulator import AbacoEmulator
from abaco_emulator import models
from abaco_emulator.clock import Clock

NOOP_IMAGE = "bench/noop"
IDLE_IMAGE = "bench/idle"      # never registered: its worker stops, messages stay queued
ADMIN_ROLES = ["Internal/abaco-admin"]
LOG_TEXT = ("x" * 99) + "\n"   # a 100-byte log
_CLOCK = Clock()  # the times of the copies


def noop(ctx: Any) -> None:
    return None


def local_emulator(db_path: str | None = None) -> AbacoEmulator:
    emulator = AbacoEmulator(runner="local", db_path=db_path)
    emulator.register_image(NOOP_IMAGE, noop)
    return emulator


def templates(emulator: AbacoEmulator) -> tuple[dict[str, Any], dict[str, Any]]:
    """The records the engine stored for one real completed execution and its log."""
    actor = emulator.actors.add(body={"image": NOOP_IMAGE, "name": "template"})
    sent = emulator.actors.sendMessage(actorId=actor.id, body={"message": "hello"})
    emulator.wait_for_execution(actor.id, sent.executionId, timeout=30)
    execution = emulator.store.get("executions", sent.executionId)
    log = emulator.store.get("logs", sent.executionId) or {"id": sent.executionId, "actor_id": actor.id}
    return execution, dict(log, logs=LOG_TEXT)


def copy_of(execution: dict[str, Any], log: dict[str, Any], actor_id: str, number: int
            ) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new completed execution and log as the engine would build them.

    What is a fresh object per execution in the engine (ids, timestamps, the
    final_state dict, the log text, the cpu count) is fresh here; what the engine
    shares (dict keys, constants such as the status, api_server, executor) is shared.
    """
    execution_id = models.new_id()
    started, finished = _CLOCK.stamp(), _CLOCK.stamp()
    record = dict(execution, id=execution_id, actor_id=actor_id, message_received_time=_CLOCK.stamp(),
                  start_time=started, finish_time=finished, cpu=100_000 + number)
    if isinstance(execution.get("final_state"), dict):
        record["final_state"] = dict(execution["final_state"], StartedAt=started, FinishedAt=finished)
    text = "".join((LOG_TEXT[:-1], "\n"))  # a distinct string object, as each execution's output is
    return record, dict(log, id=execution_id, actor_id=actor_id, logs=text)


def fill(emulator: AbacoEmulator, actor_id: str, count: int, execution: dict[str, Any], log: dict[str, Any],
         batch: int = 1000) -> dict[str, Any]:
    """Insert `count` completed executions (with logs) of `actor_id`; returns ids and insert costs."""
    store = emulator.store
    ids = []
    first_us = last_us = 0.0
    done = 0
    while done < count:
        size = min(batch, count - done)
        begin = time.perf_counter()
        with store.transaction():
            for number in range(done, done + size):
                record, log_record = copy_of(execution, log, actor_id, number)
                store.insert("executions", record)
                store.insert("logs", log_record)
                ids.append(record["id"])
        per_us = (time.perf_counter() - begin) / size * 1e6
        if done == 0:
            first_us = per_us
        last_us = per_us
        done += size
    return {"ids": ids, "first_batch_us_per_execution": round(first_us, 1),
            "last_batch_us_per_execution": round(last_us, 1)}
