"""Memory: resident size of an in-memory emulator holding many executions.

Measured in a fresh interpreter (`python -m bench.memory COUNT`) so nothing else the
benchmark did is counted: the emulator starts, one real execution gives the record
templates, then COUNT completed executions with 100-byte logs are inserted through
`emulator.store.insert` (see `workload`). The figure is the process's RSS after a
garbage collection (VmRSS of /proc/self/status); baseline and peak are context.
"""
from __future__ import annotations

import gc
import json
import os
import subprocess
import sys

from .common import Result, at_most, unavailable

TARGET_MB = 300.0


def _status_mb(field: str) -> float:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} is not in /proc/self/status")


def child(count: int) -> dict[str, float]:
    from .workload import IDLE_IMAGE, fill, local_emulator, templates

    gc.collect()
    emulator = local_emulator()
    execution, log = templates(emulator)
    actor = emulator.actors.add(body={"image": IDLE_IMAGE, "name": "memory"})
    gc.collect()
    baseline = _status_mb("VmRSS")
    filled = fill(emulator, actor.id, count, execution, log)
    del filled
    gc.collect()
    rss = _status_mb("VmRSS")
    stored = emulator.store.count_by_actor("executions", actor.id)
    emulator.close()
    return {"rss_mb": rss, "baseline_mb": baseline, "peak_mb": _status_mb("VmHWM"),
            "per_execution_bytes": (rss - baseline) * 1024 * 1024 / count, "stored": stored}


def run(quick: bool) -> list[Result]:
    count = 2_000 if quick else 100_000
    name = f"memory RSS, {count:,} executions stored"
    if not os.path.exists("/proc/self/status"):
        return [unavailable(name, f"<= {TARGET_MB:g} MB", "no /proc on this system")]
    done = subprocess.run([sys.executable, "-m", "bench.memory", str(count)], capture_output=True, text=True,
                          timeout=600, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if done.returncode != 0:
        raise RuntimeError(f"the measuring process failed: {done.stderr[-2000:]}")
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    return [at_most(name, measured["rss_mb"], TARGET_MB, "MB",
                    note=f"fresh process; baseline {measured['baseline_mb']:.0f} MB, "
                         f"{measured['per_execution_bytes']:.0f} B per execution with its 100-byte log",
                    context=measured)]


if __name__ == "__main__":
    print(json.dumps(child(int(sys.argv[1]))))
