"""Events and the scheduler: what a link costs, what a cron check costs, a chain under load.

- Event latency: from an actor's EXECUTION_COMPLETE to its linked actor's execution
  RUNNING, against a plain `sendMessage` to that actor (call to RUNNING); the engine's
  own events, read by a subscriber, are the timestamps. Local runner, in process.
- The cron check (`Scheduler._check`, what runs at each due moment) with 10 and with
  10,000 actors, one of them scheduled (copies of a registered actor, inserted through
  the Store API as the other figures do).
- A chain of 10 linked actors while 8 threads send to its head: every event of each
  actor reaches the next one, none lost, in the order it happened.
"""
from __future__ import annotations

import statistics
import threading
import time
from typing import Any

from abaco_emulator import models

from .common import Result, at_most, time_calls
from .workload import NOOP_IMAGE, local_emulator

LATENCY_TARGET_MS = 5.0
CRON_RATIO_TARGET = 1.5
CHAIN_LENGTH = 10
SENDERS = 8


RECORDER_IMAGE = "bench/recorder"


class _Stamps:
    """perf_counter at each engine event, by (type, execution id), and what each event
    execution was told (the recorder actor's handler)."""

    def __init__(self) -> None:
        self.at: dict[tuple[str, str], float] = {}
        self.completed: dict[str, list[str]] = {}  # actor id -> its executions in completion order
        self.told: dict[str, list[tuple[str, str]]] = {}  # actor id -> (event type, execution id) it ran, in order
        self.effect_of: dict[str, str] = {}  # execution id -> the execution its event message is about
        self._lock = threading.Lock()

    def __call__(self, event: Any) -> None:
        with self._lock:
            if event.execution_id:
                self.at[(event.type, event.execution_id)] = time.perf_counter()
            if event.type == "EXECUTION_COMPLETE":
                self.completed.setdefault(event.actor_id, []).append(event.execution_id)

    def record(self, context: Any) -> None:
        """The recorder actor's handler: which event this execution ran."""
        event = context.message_dict
        with self._lock:
            self.told.setdefault(context.actor_id, []).append((event.get("event_type"), event.get("execution_id")))
            if event.get("execution_id"):
                self.effect_of[event["execution_id"]] = context.execution_id


def _recording_emulator() -> tuple[Any, _Stamps]:
    emulator = local_emulator()
    stamps = _Stamps()
    emulator.engine.subscribe(stamps)
    emulator.register_image(RECORDER_IMAGE, stamps.record)
    return emulator, stamps


def event_latency(count: int) -> dict[str, float]:
    emulator, stamps = _recording_emulator()
    with emulator:
        sink = emulator.actors.add(body={"image": RECORDER_IMAGE, "name": "sink"})
        source = emulator.actors.add(body={"image": NOOP_IMAGE, "name": "source", "link": sink.id})
        emulator.drain()
        plain, linked = [], []
        for index in range(count):
            begin = time.perf_counter()
            sent = emulator.actors.sendMessage(actorId=sink.id, body={"message": str(index)})
            emulator.wait_for_execution(sink.id, sent.executionId)
            plain.append(stamps.at[("EXECUTION_STARTED", sent.executionId)] - begin)
            cause = emulator.actors.sendMessage(actorId=source.id, body={"message": str(index)})
            emulator.wait_for_execution(source.id, cause.executionId)
            emulator.drain()
            effect = stamps.effect_of[cause.executionId]
            linked.append(stamps.at[("EXECUTION_STARTED", effect)]
                          - stamps.at[("EXECUTION_COMPLETE", cause.executionId)])
    return {"plain_ms": statistics.median(plain) * 1000, "linked_ms": statistics.median(linked) * 1000,
            "count": count}


def cron_check(actors: int, samples: int) -> float:
    """Median seconds of one scheduler check with `actors` actors, one of them scheduled."""
    with local_emulator() as emulator:
        template = emulator.actors.add(body={"image": NOOP_IMAGE, "name": "template"})
        record = emulator.store.get("actors", template.id)
        assert record is not None
        with emulator.store.transaction():
            for _ in range(actors - 2):
                actor_id = models.new_id()
                emulator.store.insert("actors", dict(record, id=actor_id, db_id=f"{record['tenant']}_{actor_id}"))
        emulator.actors.add(body={"image": NOOP_IMAGE, "name": "scheduled", "cronSchedule": "now + 1 hour"})
        emulator.advance_time(0)  # its first run is now: later checks find it in the future
        now = emulator.clock.now()
        timings = time_calls(lambda: emulator.scheduler._check(now), samples)
    return statistics.median(timings) / 1e9


def chain(messages_per_sender: int) -> dict[str, Any]:
    """Send to the head of a chain from SENDERS threads; check every link got every event, in order."""
    emulator, stamps = _recording_emulator()
    with emulator:
        ids: list[str] = []
        for index in range(CHAIN_LENGTH):
            body: dict[str, Any] = {"image": RECORDER_IMAGE, "name": f"link-{index}"}
            if ids:
                body["link"] = ids[-1]
            ids.append(emulator.actors.add(body=body).id)
        ids.reverse()  # the head (registered last) first: each links to the next
        emulator.drain()

        def send(sender: int) -> None:
            for number in range(messages_per_sender):
                emulator.actors.sendMessage(actorId=ids[0], body={"message": f"{sender}-{number}"})

        threads = [threading.Thread(target=send, args=(s,)) for s in range(SENDERS)]
        begin = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        emulator.drain(timeout=600)
        elapsed = time.perf_counter() - begin
        lost = out_of_order = delivered = 0
        for upstream, downstream in zip(ids, ids[1:]):
            told = [execution for kind, execution in stamps.told.get(downstream, []) if kind == "EXECUTION_COMPLETE"]
            finished = stamps.completed.get(upstream, [])
            delivered += len(told)
            lost += len(set(finished) - set(told))
            out_of_order += told != finished
    return {"delivered": delivered, "lost": lost, "out_of_order_links": out_of_order, "elapsed_s": elapsed,
            "sent": SENDERS * messages_per_sender}


def run(quick: bool) -> list[Result]:
    latency = event_latency(20 if quick else 200)
    extra = latency["linked_ms"] - latency["plain_ms"]
    small, large = cron_check(10, 50 if quick else 500), cron_check(10_000, 50 if quick else 500)
    chained = chain(5 if quick else 50)
    return [
        at_most("event latency over plain send [local]", extra, LATENCY_TARGET_MS, "ms",
                note=f"median {latency['linked_ms']:.3f} ms EXECUTION_COMPLETE->linked RUNNING vs "
                     f"{latency['plain_ms']:.3f} ms sendMessage->RUNNING ({latency['count']} each)",
                context=latency),
        at_most("cron check, 10,000 / 10 actors (1 scheduled)", large / small, CRON_RATIO_TARGET, "x",
                note=f"median {small * 1e6:.1f} us @ 10 vs {large * 1e6:.1f} us @ 10,000 actors",
                context={"small_s": small, "large_s": large}),
        Result(f"chain of {CHAIN_LENGTH} links, {SENDERS} senders: events lost", float(chained["lost"]),
               "", "0, in order", chained["lost"] == 0 and chained["out_of_order_links"] == 0,
               note=f"{chained['delivered']} events delivered for {chained['sent']} messages in "
                    f"{chained['elapsed_s']:.2f} s; links out of order: {chained['out_of_order_links']}",
               context=chained),
    ]
