"""Docker overhead: what the emulator adds on top of running the container itself.

* Latency: a busybox actor whose container exits at once, timed from `sendMessage`
  to COMPLETE (`wait_for_execution`), against a plain Docker SDK
  create-start-wait-logs-remove of the same image with the same network mode, in
  alternating pairs; the figure is median(emulator) / median(plain).
* Scaling: a stateless actor's throughput with two workers over one worker (the same
  number of messages sent at once, then `drain()`).
"""
from __future__ import annotations

import statistics
import time
import uuid

from .common import Result, at_least, at_most, unavailable

IMAGE = "abaco-emulator/busybox:test"
LATENCY_TARGET = 1.15
SCALING_TARGET = 1.6
LABEL = "abaco-emulator-bench"


def engine_problem() -> str | None:
    """Why the Docker runner cannot be used here, or None."""
    from abaco_emulator.runners.docker import docker_problem

    return docker_problem()


def _problem() -> str | None:
    problem = engine_problem()
    if problem:
        return problem
    import docker

    client = docker.from_env(timeout=10)
    try:
        client.images.get(IMAGE)
    except Exception as exc:  # the test image is not built
        return f"{type(exc).__name__}: {exc} (build it with fixtures/build_images.sh)"
    finally:
        client.close()
    return None


def _plain_run(client, network_mode: str, session: str) -> float:
    begin = time.perf_counter()
    container = client.containers.create(IMAGE, labels={LABEL: session}, network_mode=network_mode)
    try:
        container.start()
        container.wait()
        container.logs()
    finally:
        container.remove(force=True)
    return time.perf_counter() - begin


def _wait_ready(ag, actor_id: str, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers = ag.actors.listWorkers(actorId=actor_id)
        if sum(w["status"] == "READY" for w in workers) >= count:
            return
        time.sleep(0.05)
    raise RuntimeError(f"actor {actor_id} does not have {count} READY workers after {timeout} s")


def _throughput(ag, actor_id: str, count: int) -> float:
    begin = time.perf_counter()
    for index in range(count):
        ag.actors.sendMessage(actorId=actor_id, body={"message": str(index)})
    ag.drain(timeout=600)
    return count / (time.perf_counter() - begin)


def run(quick: bool) -> list[Result]:
    latency_name, scaling_name = "docker latency over plain SDK", "docker 2 workers / 1 worker throughput"
    problem = _problem()
    if problem:
        return [unavailable(latency_name, f"<= {LATENCY_TARGET:g}", problem),
                unavailable(scaling_name, f">= {SCALING_TARGET:g}", problem)]
    import docker

    from abaco_emulator import AbacoEmulator

    pairs, count = (3, 4) if quick else (15, 24)
    network_mode = "host"
    session = uuid.uuid4().hex
    client = docker.from_env(timeout=60)
    results = []
    try:
        with AbacoEmulator(runner="docker", network_mode=network_mode) as ag:
            actor = ag.actors.add(body={"image": IMAGE, "name": "bench-latency", "stateless": True})
            warm = ag.actors.sendMessage(actorId=actor.id, body={"message": "warm up"})
            ag.wait_for_execution(actor.id, warm.executionId, timeout=120)
            _plain_run(client, network_mode, session)
            emulated, plain = [], []
            for _ in range(pairs):
                begin = time.perf_counter()
                sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "go"})
                done = ag.wait_for_execution(actor.id, sent.executionId, timeout=120)
                emulated.append(time.perf_counter() - begin)
                if done.status != "COMPLETE":
                    raise RuntimeError(f"execution {sent.executionId} ended {done.status}")
                plain.append(_plain_run(client, network_mode, session))
            e_ms, p_ms = statistics.median(emulated) * 1e3, statistics.median(plain) * 1e3
            results.append(at_most(latency_name, e_ms / p_ms, LATENCY_TARGET, "x",
                                   note=f"median {e_ms:.0f} ms sendMessage->COMPLETE vs {p_ms:.0f} ms plain SDK "
                                        f"({pairs} pairs, network_mode={network_mode})",
                                   context={"emulator_ms": emulated, "plain_ms": plain}))

            scaled = ag.actors.add(body={"image": IMAGE, "name": "bench-scaling", "stateless": True})
            warm = ag.actors.sendMessage(actorId=scaled.id, body={"message": "warm up"})
            ag.wait_for_execution(scaled.id, warm.executionId, timeout=120)
            one = _throughput(ag, scaled.id, count)
            admin = ag.as_user("admin", roles=["Internal/abaco-admin"])
            admin.actors.addWorker(actorId=scaled.id, body={"num": 2})  # Abaco: ensure at least num workers
            _wait_ready(ag, scaled.id, 2)
            warm = ag.actors.sendMessage(actorId=scaled.id, body={"message": "warm up"})
            ag.wait_for_execution(scaled.id, warm.executionId, timeout=120)
            two = _throughput(ag, scaled.id, count)
            results.append(at_least(scaling_name, two / one, SCALING_TARGET, "x",
                                    note=f"{one:.2f}/s with 1 worker vs {two:.2f}/s with 2 ({count} executions each)",
                                    context={"one_worker_per_s": one, "two_workers_per_s": two, "count": count}))
            ag.raise_background_errors()
    finally:
        for container in client.containers.list(all=True, filters={"label": f"{LABEL}={session}"}):
            container.remove(force=True)
        client.close()
    return results
