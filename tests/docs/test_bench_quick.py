"""The benchmark suite runs (CI keeps it from rotting): `python -m bench --quick`.

Only that it runs and prints every figure is checked; the numbers are measurements,
not timed assertions, and a figure whose subject is missing here says "not available".
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIGURES = [
    "growth actors.get [memory]",
    "growth getExecution [memory]",
    "growth sendMessage [memory]",
    "growth listExecutions(limit=100) [memory]",
    "growth actors.get [db_path]",
    "growth getExecution [db_path]",
    "growth sendMessage [db_path]",
    "growth listExecutions(limit=100) [db_path]",
    "local throughput, 4 workers [memory]",
    "local throughput, 4 workers [db_path]",
    "fixture abaco set-up + tear-down",
    "fixture abaco_server start",
    "http GET actor, 4 clients [in-process] rate",
    "http GET actor, 4 clients [in-process] median",
    "tapis v3 / v2 GET actor median",
    "docker latency over plain SDK",
    "docker 2 workers / 1 worker throughput",
    "memory RSS",
]


def test_quick_benchmark_runs_and_prints_every_figure(tmp_path):
    report = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, "-m", "bench", "--quick", "--json", str(report)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    for figure in FIGURES:
        assert figure in done.stdout, f"{figure!r} is missing from:\n{done.stdout}"
    figures = json.loads(report.read_text())["figures"]
    assert all(f["value"] is not None or f["note"].startswith("not available") for f in figures), figures
