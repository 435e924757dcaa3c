"""Fixture cost: what the pytest fixtures add to every test.

`abaco` is timed as what it does: `AbacoEmulator(runner="local")` entered and exited
(set-up plus tear-down, median of many); the same with the Docker runner, the
fixture's default, is a second line, with the one Docker client the plugin shares
across a session. `abaco_server` is timed as the start of
`abaco_emulator.serve(runner="local")` until the server answers (its stop is context).
"""
from __future__ import annotations

import statistics
import time

from abaco_emulator import AbacoEmulator

from .common import Result, at_most, unavailable


def abaco_fixture(count: int, runner: str = "local") -> Result:
    name = "fixture abaco set-up + tear-down" + ("" if runner == "local" else f" [{runner} runner]")
    if runner == "docker":
        from .docker_overhead import engine_problem

        problem = engine_problem()
        if problem:
            return unavailable(name, "<= 5 ms", problem)
        from abaco_emulator.runners.docker import DockerRunner

        options = {"runner": runner, "docker_client": DockerRunner.connect()}
    else:
        options = {"runner": runner}
    try:
        for _ in range(3):
            with AbacoEmulator(**options):
                pass
        samples = []
        for _ in range(count):
            begin = time.perf_counter_ns()
            with AbacoEmulator(**options):
                pass
            samples.append(time.perf_counter_ns() - begin)
    finally:
        if "docker_client" in options:
            options["docker_client"].close()
    median = statistics.median(samples) / 1e6
    return at_most(name, median, 5, "ms",
                   note=f"median of {count} AbacoEmulator(runner={runner!r}) enter/exit",
                   context={"median_ms": median, "min_ms": min(samples) / 1e6, "count": count})


def abaco_server_fixture(count: int) -> Result:
    name = "fixture abaco_server start"
    try:
        from abaco_emulator.server import serve
    except ImportError as exc:
        return unavailable(name, "<= 300 ms", f"abaco_emulator.server is not on this branch yet ({exc})")
    import requests

    starts, stops = [], []
    for index in range(count + 1):
        begin = time.perf_counter_ns()
        server = serve(runner="local")
        server.__enter__()
        try:
            started = time.perf_counter_ns()
            response = requests.get(f"{server.url}/actors/v2", timeout=10,
                                    headers={"Authorization": f"Bearer {server.token}"})
            response.raise_for_status()
        finally:
            stop_begin = time.perf_counter_ns()
            server.__exit__(None, None, None)
            stopped = time.perf_counter_ns()
        if index:  # the first start pays for imports
            starts.append(started - begin)
            stops.append(stopped - stop_begin)
    median = statistics.median(starts) / 1e6
    stop_median = statistics.median(stops) / 1e6
    return at_most(name, median, 300, "ms",
                   note=f"median of {count} serve(runner='local') starts; stop median {stop_median:.1f} ms",
                   context={"start_median_ms": median, "stop_median_ms": stop_median, "count": count})


def run(quick: bool) -> list[Result]:
    return [abaco_fixture(20 if quick else 200), abaco_fixture(5 if quick else 50, "docker"),
            abaco_server_fixture(3 if quick else 10)]
