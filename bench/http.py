"""HTTP: GET /actors/v2/{id} through keep-alive connections, 4 concurrent clients.

The server is `abaco_emulator.serve(runner="local")`, as the `abaco_server` fixture
runs it. Each client holds one kept-alive `http.client.HTTPConnection`: a light client,
so that the figure is the server's and not the load generator's (a `requests.Session`
costs about twice the server's own CPU per call, and 2 cores are shared by both
sides). The figure named by the issue uses 4 client threads in the same process (as a
test would); a second line runs 4 client processes, so the load generator shares no
interpreter lock with the server or itself.
"""
from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from typing import Any

from .common import Result, at_least, at_most, unavailable
from .workload import NOOP_IMAGE

RATE_TARGET = 1500.0
LATENCY_TARGET_MS = 2.0
THREADS = 4


def hammer(url: str, token: str, threads: int, duration: float, samples: bool = False) -> dict[str, Any]:
    """Requests per second and latencies of `threads` keep-alive clients for `duration` s."""
    latencies: list[list[int]] = [[] for _ in range(threads)]
    failures: list[str] = []
    start = threading.Barrier(threads + 1)
    stop_at = [0.0]

    def client(index: int) -> None:
        parts = urllib.parse.urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        headers = {"Authorization": f"Bearer {token}"}

        def get() -> int:
            connection.request("GET", parts.path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                failures.append(f"{response.status} {body[:200]!r}")
            return response.status

        get()  # connect, warm up
        start.wait()
        mine = latencies[index]
        clock = time.perf_counter_ns
        try:
            while time.perf_counter() < stop_at[0]:
                begin = clock()
                status = get()
                mine.append(clock() - begin)
                if status != 200:
                    return
        finally:
            connection.close()

    workers = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    stop_at[0] = time.perf_counter() + 3600
    start.wait()
    begin = time.perf_counter()
    stop_at[0] = begin + duration
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - begin
    if failures:
        raise RuntimeError(f"GET {url} failed: {failures[0]}")
    every = [s for mine in latencies for s in mine]
    return {"requests": len(every), "elapsed_s": elapsed, "rate": len(every) / elapsed,
            "median_ms": statistics.median(every) / 1e6,
            "p90_ms": sorted(every)[int(len(every) * 0.9)] / 1e6, **({"samples": every} if samples else {})}


def _in_processes(url: str, token: str, count: int, duration: float) -> dict[str, Any]:
    """`count` client processes of one keep-alive session each, run at the same time."""
    script = ("import json,sys; from bench.http import hammer; "
              "print(json.dumps(hammer(sys.argv[1], sys.argv[2], 1, float(sys.argv[3]), True)))")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    processes = [subprocess.Popen([sys.executable, "-c", script, url, token, str(duration)], cwd=root,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(count)]
    parts = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        if process.returncode != 0:
            raise RuntimeError(f"a client process failed: {err[-2000:]}")
        parts.append(json.loads(out.strip().splitlines()[-1]))
    every = sorted(s for part in parts for s in part.pop("samples"))
    elapsed = max(part["elapsed_s"] for part in parts)
    return {"requests": len(every), "elapsed_s": elapsed, "rate": len(every) / elapsed,
            "median_ms": statistics.median(every) / 1e6, "p90_ms": every[int(len(every) * 0.9)] / 1e6}


def _results(label: str, measured: dict[str, Any], note: str) -> list[Result]:
    return [
        at_least(f"http GET actor, {THREADS} clients {label} rate", measured["rate"], RATE_TARGET, "/s",
                 note=f"{measured['requests']} requests in {measured['elapsed_s']:.1f} s; {note}",
                 context=measured),
        at_most(f"http GET actor, {THREADS} clients {label} median", measured["median_ms"],
                LATENCY_TARGET_MS, "ms", note=f"p90 {measured['p90_ms']:.2f} ms", context=measured),
    ]


def run(quick: bool) -> list[Result]:
    duration = 1.0 if quick else 5.0
    try:
        from abaco_emulator.server import serve
    except ImportError as exc:
        reason = f"abaco_emulator.server is not on this branch yet ({exc})"
        return [unavailable(f"http GET actor, {THREADS} clients {label} {what}", target, reason)
                for label in ("[in-process]", "[4 client processes]")
                for what, target in (("rate", f">= {RATE_TARGET:g} /s"), ("median", f"<= {LATENCY_TARGET_MS:g} ms"))]
    import requests

    with serve(runner="local") as server:
        server.emulator.register_image(NOOP_IMAGE, lambda ctx: None)
        headers = {"Authorization": f"Bearer {server.token}"}
        created = requests.post(f"{server.url}/actors/v2", json={"image": NOOP_IMAGE, "name": "http-bench"},
                                headers=headers, timeout=10)
        created.raise_for_status()
        actor_id = created.json()["result"]["id"]
        url = f"{server.url}/actors/v2/{actor_id}"
        results = _results("[in-process]", hammer(url, server.token, THREADS, duration),
                           "client threads share the server's process")
        results += _results("[4 client processes]", _in_processes(url, server.token, THREADS, duration),
                            "one client per process, so the load generator is not GIL-bound")
        server.emulator.raise_background_errors()
    return results
