"""`python -m bench [--quick] [--json FILE] [--only NAME ...]`: every figure, one table.

Exit status 0 when every figure was measured or reported as not available (a missed
target is a measurement, not a failure); 1 when a figure crashed.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import traceback

from . import docker_overhead, events, fixture_cost, http, memory, store_growth, tapis_v3, throughput
from .common import Result

FIGURES = {
    "store_growth": store_growth,
    "throughput": throughput,
    "fixture_cost": fixture_cost,
    "http": http,
    "tapis_v3": tapis_v3,
    "docker": docker_overhead,
    "memory": memory,
    "events": events,
}


def machine() -> dict[str, str]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    memory_mb = ""
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        memory_mb = f"{os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') // 2**20} MB"
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": memory_mb, "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}", "commit": commit}


def _value(result: Result) -> str:
    if result.value is None:
        return "-"
    if result.unit == "x":
        return f"{result.value:.2f}x"
    if result.unit == "/s":
        return f"{result.value:,.0f} /s"
    if result.unit == "ms":
        return f"{result.value:.3g} ms" if result.value < 10 else f"{result.value:.0f} ms"
    return f"{result.value:.0f} {result.unit}"


def _verdict(result: Result) -> str:
    if result.note.startswith("error:"):
        return "ERROR"
    if result.passed is None:
        return "n/a"
    return "PASS" if result.passed else "MISS"


def table(results: list[Result]) -> str:
    rows = [("figure", "measured", "target", "result", "note")]
    rows += [(r.figure, _value(r), r.target, _verdict(r), r.note) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4])
        if index == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 4)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (CI): checks the suite runs")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("--only", nargs="+", choices=sorted(FIGURES), help="run only these figure groups")
    args = parser.parse_args(argv)
    results: list[Result] = []
    started = time.time()
    crashed = False
    for name, module in FIGURES.items():
        if args.only and name not in args.only:
            continue
        begin = time.perf_counter()
        try:
            results += module.run(args.quick)
        except Exception as exc:  # one broken figure must not hide the others
            crashed = True
            traceback.print_exc()
            results.append(Result(name, None, "", "", False, note=f"error: {type(exc).__name__}: {exc}"))
        print(f"[bench] {name} done in {time.perf_counter() - begin:.1f} s", file=sys.stderr, flush=True)
    info = machine()
    print(f"abaco-emulator benchmark ({'quick' if args.quick else 'full'} run) on {info['cpu']}, "
          f"{info['cores']} cores, {info['memory']}, Python {info['python']}, {info['system']}, "
          f"commit {info['commit']}, {time.time() - started:.0f} s")
    print(table(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"quick": args.quick, "started": started, "machine": info,
                       "figures": [r.as_dict() for r in results]}, handle, indent=2, default=str)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
