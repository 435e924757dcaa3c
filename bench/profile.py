"""Profiles of the figures' workloads across every thread: `python -m bench.profile WHAT`.

WHAT is `throughput` (local runner, in memory), `throughput-db` (with a db_path),
`http` (GET /actors/v2/{id}, 4 client threads in the process) or `docker` (busybox
sendMessage -> COMPLETE). cProfile sees one thread only, so every thread started
while profiling (workers, handler threads, server threads) gets its own profiler and
the results are merged. Prints the top functions by own time and by cumulative time;
`--out FILE` keeps the merged pstats file.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import threading
import time

_profiles: list[cProfile.Profile] = []


def _profiled(run):
    def wrapper(self, *args, **kwargs):
        profile = cProfile.Profile()
        _profiles.append(profile)
        profile.enable()
        try:
            return run(self, *args, **kwargs)
        finally:
            profile.disable()
    return wrapper


def _install() -> None:
    from abaco_emulator import engine

    threading.Thread.run = _profiled(threading.Thread.run)
    engine.Worker.run = _profiled(engine.Worker.run)


def _throughput(db: bool, count: int) -> None:
    from .throughput import measure

    with tempfile.TemporaryDirectory(prefix="abaco-bench-") as tmp:
        print(measure(f"{tmp}/db.json" if db else None, count))


def _http(duration: float) -> None:
    import requests

    from abaco_emulator.server import serve

    from .http import THREADS, hammer
    from .workload import NOOP_IMAGE

    with serve(runner="local") as server:
        server.emulator.register_image(NOOP_IMAGE, lambda ctx: None)
        headers = {"Authorization": f"Bearer {server.token}"}
        created = requests.post(f"{server.url}/actors/v2", json={"image": NOOP_IMAGE}, headers=headers, timeout=10)
        created.raise_for_status()
        print(hammer(f"{server.url}/actors/v2/{created.json()['result']['id']}", server.token, THREADS, duration))


def _docker(count: int) -> None:
    from abaco_emulator import AbacoEmulator

    from .docker_overhead import IMAGE

    with AbacoEmulator(runner="docker") as ag:
        actor = ag.actors.add(body={"image": IMAGE, "stateless": True})
        begin = time.perf_counter()
        for _ in range(count):
            sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "go"})
            ag.wait_for_execution(actor.id, sent.executionId, timeout=120)
        print(f"{(time.perf_counter() - begin) / count * 1e3:.1f} ms per execution")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("what", choices=("throughput", "throughput-db", "http", "docker"))
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--out")
    args = parser.parse_args()
    _install()
    main_profile = cProfile.Profile()
    _profiles.append(main_profile)
    main_profile.enable()
    if args.what == "throughput":
        _throughput(False, 3000)
    elif args.what == "throughput-db":
        _throughput(True, 3000)
    elif args.what == "http":
        _http(5.0)
    else:
        _docker(10)
    main_profile.disable()
    time.sleep(0.5)  # let finished threads disable their profilers
    stats = None
    for profile in _profiles:
        try:
            profile.create_stats()
        except Exception:
            continue
        if not getattr(profile, "stats", None):
            continue
        stats = pstats.Stats(profile) if stats is None else stats.add(profile)
    if args.out:
        stats.dump_stats(args.out)
    total = sum(row[2] for row in stats.stats.values())
    print(f"{len(_profiles)} threads profiled, {total:.2f} s of own time in all")
    for key in ("tottime", "cumulative"):
        stats.sort_stats(key).print_stats(args.top)


if __name__ == "__main__":
    main()
