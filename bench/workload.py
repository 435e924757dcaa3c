"""Emulators, actors and stored executions for the figures.

Filling a store with 100,000 executions by running them would take minutes, so the
figures run one real execution, read back the records the engine wrote for it (the
execution as `service.send_message` created it and `Engine._record` completed it, and
its log), and insert copies with fresh ids through the Store API
(`emulator.store.insert`), in transactions of 1,000 as a busy emulator would commit
them. Copies are decoded from JSON so that no two records share objects.
"""
from __future__ import annotations

import json
import time
from typing import Any

from abaco_emulator import AbacoEmulator
from abaco_emulator import models

NOOP_IMAGE = "bench/noop"
IDLE_IMAGE = "bench/idle"      # never registered: its worker stops, messages stay queued
ADMIN_ROLES = ["Internal/abaco-admin"]
LOG_TEXT = ("x" * 99) + "\n"   # a 100-byte log


def noop(ctx: Any) -> None:
    return None


def local_emulator(db_path: str | None = None) -> AbacoEmulator:
    emulator = AbacoEmulator(runner="local", db_path=db_path)
    emulator.register_image(NOOP_IMAGE, noop)
    return emulator


def templates(emulator: AbacoEmulator) -> tuple[str, str]:
    """JSON text of one real completed execution and of its log record."""
    actor = emulator.actors.add(body={"image": NOOP_IMAGE, "name": "template"})
    sent = emulator.actors.sendMessage(actorId=actor.id, body={"message": "hello"})
    emulator.wait_for_execution(actor.id, sent.executionId, timeout=30)
    execution = emulator.store.get("executions", sent.executionId)
    log = emulator.store.get("logs", sent.executionId) or {"id": sent.executionId, "actor_id": actor.id}
    log = dict(log, logs=LOG_TEXT)
    return json.dumps(execution), json.dumps(log)


def fill(emulator: AbacoEmulator, actor_id: str, count: int, execution_text: str, log_text: str,
         batch: int = 1000) -> dict[str, float]:
    """Insert `count` completed executions (with logs) of `actor_id`; returns insert costs."""
    store = emulator.store
    ids = []
    first_us = last_us = 0.0
    done = 0
    while done < count:
        size = min(batch, count - done)
        begin = time.perf_counter()
        with store.transaction():
            for _ in range(size):
                execution = json.loads(execution_text)
                log = json.loads(log_text)
                execution["id"] = log["id"] = models.new_id()
                execution["actor_id"] = log["actor_id"] = actor_id
                store.insert("executions", execution)
                store.insert("logs", log)
                ids.append(execution["id"])
        per_us = (time.perf_counter() - begin) / size * 1e6
        if done == 0:
            first_us = per_us
        last_us = per_us
        done += size
    return {"ids": ids, "first_batch_us_per_execution": round(first_us, 1),
            "last_batch_us_per_execution": round(last_us, 1)}
