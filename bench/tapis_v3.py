"""Tapis v3: the same GET actor through `/v3/actors/{id}` (X-Tapis-Token) and `/actors/v2/{id}`.

One served emulator, one kept-alive connection, the two routes requested in turns so
that both see the same machine; the figure is the ratio of their median latencies
(issue 13: the v3 routes cost at most 1.1x the v2 route).
"""
from __future__ import annotations

import http.client
import statistics
import time
import urllib.parse

from .common import Result, at_most, unavailable
from .workload import NOOP_IMAGE

FIGURE = "tapis v3 / v2 GET actor median"
TARGET = 1.1


def _timed(connection: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> int:
    begin = time.perf_counter_ns()
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise RuntimeError(f"GET {path} answered {response.status}")
    return time.perf_counter_ns() - begin


def run(quick: bool) -> list[Result]:
    try:
        from abaco_emulator import serve, tapis_token
    except ImportError as exc:
        return [unavailable(FIGURE, f"<= {TARGET:g}", f"the Tapis v3 dialect is not on this branch ({exc})")]
    import requests

    count = 300 if quick else 3000
    with serve(runner="local") as server:
        server.emulator.register_image(NOOP_IMAGE, lambda ctx: None)
        created = requests.post(f"{server.url}/actors/v2", json={"image": NOOP_IMAGE}, headers=server.headers(),
                                timeout=10)
        created.raise_for_status()
        actor_id = created.json()["result"]["id"]
        address = urllib.parse.urlsplit(server.url)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
        v2 = (f"/actors/v2/{actor_id}", server.headers())
        v3 = (f"/v3/actors/{actor_id}", {"X-Tapis-Token": tapis_token(server.emulator.user)})
        samples: dict[str, list[int]] = {"v2": [], "v3": []}
        try:
            for _ in range(count // 10):  # warm-up
                _timed(connection, *v2)
                _timed(connection, *v3)
            for _ in range(count):
                samples["v2"].append(_timed(connection, *v2))
                samples["v3"].append(_timed(connection, *v3))
        finally:
            connection.close()
        server.emulator.raise_background_errors()
    v2_ms, v3_ms = (statistics.median(samples[k]) / 1e6 for k in ("v2", "v3"))
    return [at_most(FIGURE, v3_ms / v2_ms, TARGET, "x", note=f"v3 {v3_ms:.3f} ms, v2 {v2_ms:.3f} ms, {count} each",
                    context={"v2_median_ms": v2_ms, "v3_median_ms": v3_ms, "count": count})]
