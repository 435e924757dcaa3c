"""Store growth: the same requests against a small and a large store, interleaved.

Two emulators of the same kind (in memory, or with a db_path) differ only in how
many executions one actor has stored: `small` vs `large`. Each operation is timed
call by call in alternating rounds (small, large, small, ...) so drift of the machine
hits both sides; the figure is median(large) / median(small).

`sendMessage` goes to an actor whose image is not registered with the local runner,
so its worker stops at once and no execution runs beside the timing: what is timed
is the request (store insert of the execution and the message, with its fsync when
there is a db_path).
"""
from __future__ import annotations

import gc
import random
import tempfile
from typing import Any, Callable

from .common import Result, at_most, median_ms, time_calls
from .workload import IDLE_IMAGE, fill, local_emulator, templates

TARGET = 1.5
OPERATIONS = ("actors.get", "getExecution", "sendMessage", "listExecutions(limit=100)")


def _prepare(db_path: str | None, count: int) -> tuple[Any, dict[str, Callable[[], Any]], dict[str, Any]]:
    emulator = local_emulator(db_path)
    execution, log = templates(emulator)
    actor = emulator.actors.add(body={"image": IDLE_IMAGE, "name": "growth"})
    filled = fill(emulator, actor.id, count, execution, log)
    ids = filled.pop("ids")
    rng = random.Random(7)
    actors = emulator.actors

    def get_execution() -> Any:
        return actors.getExecution(actorId=actor.id, executionId=rng.choice(ids))

    calls = {
        "actors.get": lambda: actors.get(actorId=actor.id),
        "getExecution": get_execution,
        "sendMessage": lambda: actors.sendMessage(actorId=actor.id, body={"message": "hi"}),
        "listExecutions(limit=100)": lambda: actors.listExecutions(actorId=actor.id, limit=100),
    }
    return emulator, calls, filled


def run(quick: bool) -> list[Result]:
    small, large = (100, 2_000) if quick else (100, 100_000)
    rounds, batch = (4, 15) if quick else (10, 60)
    results = []
    for mode in ("memory", "db_path"):
        with tempfile.TemporaryDirectory(prefix="abaco-bench-") as tmp:
            sides = {}
            for label, count in (("small", small), ("large", large)):
                path = f"{tmp}/{label}.json" if mode == "db_path" else None
                sides[label] = _prepare(path, count)
            gc.collect()
            try:
                for operation in OPERATIONS:
                    samples: dict[str, list[int]] = {"small": [], "large": []}
                    for label in ("small", "large"):  # warm up both
                        time_calls(sides[label][1][operation], 5)
                    for _ in range(rounds):
                        for label in ("small", "large"):
                            samples[label] += time_calls(sides[label][1][operation], batch)
                    small_ms, large_ms = median_ms(samples["small"]), median_ms(samples["large"])
                    results.append(at_most(
                        f"growth {operation} [{mode}]", large_ms / small_ms, TARGET, "x",
                        note=f"median {small_ms:.3f} ms @ {small:,} vs {large_ms:.3f} ms @ {large:,} "
                             "executions (stored via Store.insert)",
                        context={"small_count": small, "large_count": large, "small_median_ms": small_ms,
                                 "large_median_ms": large_ms, "samples_per_side": len(samples["small"]),
                                 "fill_large": sides["large"][2]}))
            finally:
                for emulator, _, _ in sides.values():
                    emulator.close()
            del sides
            gc.collect()
    return results
