"""Local runner throughput: executions per second, end to end, of a no-op actor.

A stateless actor with 4 workers (1 at creation plus 3 added by an admin), a handler
that does nothing. The clock runs from the first sendMessage until `drain()` returns
with every execution COMPLETE; the same count is sent in memory and with a db_path.
"""
from __future__ import annotations

import tempfile
import time

from .common import Result, at_least
from .workload import ADMIN_ROLES, NOOP_IMAGE, local_emulator

FINISHED = ("COMPLETE", "ERROR")
TARGETS = {"memory": 1000.0, "db_path": 300.0}


def measure(db_path: str | None, count: int, workers: int = 4) -> dict[str, float]:
    with local_emulator(db_path) as emulator:
        actor = emulator.actors.add(body={"image": NOOP_IMAGE, "name": "throughput", "stateless": True})
        if workers > 1:
            admin = emulator.as_user("admin", roles=ADMIN_ROLES)
            admin.actors.addWorker(actorId=actor.id, body={"num": workers})  # Abaco: ensure at least num workers
        warm = emulator.actors.sendMessage(actorId=actor.id, body={"message": "warm up"})
        emulator.wait_for_execution(actor.id, warm.executionId, timeout=30)
        begin = time.perf_counter()
        sent = [emulator.actors.sendMessage(actorId=actor.id, body={"message": str(i)}).executionId
                for i in range(count)]
        send_s = time.perf_counter() - begin
        emulator.drain(timeout=600)
        # drain() can return while a worker holds a message it took from the mailbox but
        # has not yet marked running (engine race); wait for those few explicitly.
        early = [e for e in sent if emulator.store.get("executions", e)["status"] not in FINISHED]
        for execution_id in early:
            emulator.engine.wait_for(execution_id, 60)
        elapsed = time.perf_counter() - begin
        complete = sum(emulator.store.get("executions", e)["status"] == "COMPLETE" for e in sent)
        if complete != count:
            raise RuntimeError(f"only {complete} of {count} executions are COMPLETE")
    return {"rate": count / elapsed, "elapsed_s": elapsed, "send_phase_s": send_s, "count": count,
            "unfinished_after_drain": len(early)}


def run(quick: bool) -> list[Result]:
    count = 300 if quick else 3000
    results = []
    for mode, target in TARGETS.items():
        with tempfile.TemporaryDirectory(prefix="abaco-bench-") as tmp:
            path = f"{tmp}/db.json" if mode == "db_path" else None
            measured = measure(path, count)
        results.append(at_least(
            f"local throughput, 4 workers [{mode}]", measured["rate"], target, "/s",
            note=f"{count} no-op executions in {measured['elapsed_s']:.2f} s "
                 f"(sending took {measured['send_phase_s']:.2f} s)",
            context=measured))
    return results
