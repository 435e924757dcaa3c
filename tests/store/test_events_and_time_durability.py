"""What links, webhooks, cron schedules and the test clock promise across restarts.

Killed with SIGKILL (the server of tests/crash_launcher.py, as tests/store/test_crash_safety.py
kills it) and restarted on the same file:

* a link event is stored with the execution that caused it: every execution of a linked
  actor makes exactly one EXECUTION_COMPLETE message for its link, however the kill
  falls (and the webhook gets each at least once: its POST is made after the event is
  stored, so a kill between the two makes it again);
* a cron execution is stored with its schedule's step: each hour of a schedule runs
  exactly once, even when the kill falls in the middle of an `advance`;
* the clock's offset is kept: once an advance was answered, a restart does not go back.

Then the same, closed and reopened in process.
"""
from __future__ import annotations

import ast
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

from abaco_emulator import AbacoEmulator
from abaco_emulator.runners.local import LocalRunner

from abaco_checks import WebhookReceiver, wait_until
from test_crash_safety import IMAGE, SERVER_DIED, Server, call  # the killed server and its helpers

HOUR = 3600


def runs_by_execution(tmp_path: Path) -> dict[str, str]:
    """Execution id -> the message its handler got (the same at each run of it)."""
    texts: dict[str, str] = {}
    path = tmp_path / "runs.txt"
    for line in (path.read_text().splitlines() if path.exists() else []):
        execution_id, text = line.split(" ", 1)
        assert texts.setdefault(execution_id, text) == text
    return texts


def run_count(tmp_path: Path) -> int:
    path = tmp_path / "runs.txt"
    return len(path.read_text().splitlines()) if path.exists() else 0


def executions(session: requests.Session, api: str, actor_id: str) -> list[dict]:
    return call(session, "GET", f"{api}/{actor_id}/executions")["executions"]


def settled(session: requests.Session, api: str, actors: list[str]) -> dict[str, list[dict]]:
    """Each actor's executions once every one is COMPLETE and no message waits; else {}."""
    found = {a: executions(session, api, a) for a in actors}
    done = all(e["status"] == "COMPLETE" for listed in found.values() for e in listed) and \
        all(call(session, "GET", f"{api}/{a}/messages")["messages"] == 0 for a in actors)
    return found if done else {}


def test_each_link_event_is_delivered_exactly_once_across_a_sigkill(tmp_path):
    receiver = WebhookReceiver()
    answered: list[str] = []
    first = Server.local(tmp_path, "--image-first")
    try:
        with requests.Session() as session:
            target = call(session, "POST", first.api, json={"image": IMAGE, "name": "target"})["id"]
            source = call(session, "POST", first.api, json={"image": IMAGE, "name": "source", "link": target,
                                                            "webhook": receiver.url})["id"]
            killed = threading.Event()

            def send() -> None:
                with requests.Session() as own:
                    for n in range(300):
                        try:
                            answered.append(call(own, "POST", f"{first.api}/{source}/messages",
                                                 json={"message": f"m{n}"})["executionId"])
                        except SERVER_DIED:
                            killed.set()
                            return

            sender = threading.Thread(target=send)
            sender.start()
            wait_until(lambda: run_count(tmp_path) >= 80, 60, "80 runs before the kill")
            first.kill()
            sender.join(30)
            assert killed.is_set(), "the server was killed after every message was sent"
    finally:
        first.ensure_gone()

    second = Server.local(tmp_path, "--image-first")
    try:
        with requests.Session() as session:
            final = wait_until(lambda: settled(session, second.api, [source, target]), 60,
                               "every execution COMPLETE after the restart")
            texts = runs_by_execution(tmp_path)
            events = [ast.literal_eval(texts[e["id"]]) for e in final[target]]
            ran = [e["id"] for e in final[source]]
            assert set(answered) <= set(ran)
            completes = Counter(e["execution_id"] for e in events if e["event_type"] == "EXECUTION_COMPLETE")
            assert set(completes) == set(ran), "an execution whose event was lost, or an event of none"
            assert [e for e, n in completes.items() if n != 1] == [], "an event delivered twice"
            # READY once, when the actor first became READY: its restart is no change anyone made.
            assert [e["event_type"] for e in events].count("ACTOR_READY") == 1
            assert len(events) == len(ran) + 1
            wait_until(lambda: set(Counter(b.get("execution_id") for b in receiver.bodies)) >= set(ran), 30,
                       "a webhook POST for every execution")
            posted = Counter(b["execution_id"] for b in receiver.bodies if b["event_type"] == "EXECUTION_COMPLETE")
            assert set(posted) == set(ran)
        second.stop("closed")
    finally:
        second.ensure_gone()
        receiver.close()


def kill_inside_an_advance(tmp_path: Path) -> tuple[list[str], datetime]:
    """Ten actors with an hourly schedule from the next hour; a 72-hour advance that a
    SIGKILL cuts after 100 cron runs. Their ids and the first hour."""
    start = (datetime.now(timezone.utc) + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    schedule = f"{start.year}-{start.month}-{start.day} {start.hour} + 1 hour"
    first = Server.local(tmp_path, "--image-first")
    try:
        with requests.Session() as session:
            actors = [call(session, "POST", first.api, json={"image": IMAGE, "cronSchedule": schedule})["id"]
                      for _ in range(10)]
        outcome: list[str] = []

        def advance() -> None:
            try:
                requests.post(f"{first.url}/emulator/v1/clock", json={"seconds": 72 * HOUR}, timeout=60)
                outcome.append("answered")
            except SERVER_DIED:
                outcome.append("died")

        mover = threading.Thread(target=advance)
        mover.start()
        wait_until(lambda: run_count(tmp_path) >= 100, 60, "100 cron runs before the kill")
        first.kill()
        mover.join(30)
        assert outcome == ["died"], "the advance ended before the kill: nothing was cut in the middle"
    finally:
        first.ensure_gone()
    return actors, start


def test_each_cron_hour_runs_exactly_once_when_a_sigkill_falls_inside_an_advance(tmp_path):
    actors, start = kill_inside_an_advance(tmp_path)
    second = Server.local(tmp_path, "--image-first")
    try:
        with requests.Session() as session:
            call(session, "POST", f"{second.url}/emulator/v1/clock", json={"seconds": 72 * HOUR})
            final = wait_until(lambda: settled(session, second.api, actors), 60, "every cron execution COMPLETE")
            ran = runs_by_execution(tmp_path)
            for actor_id, listed in final.items():
                hours = sorted(e["messageReceivedTime"][:13] for e in listed)
                expected = [(start + timedelta(hours=n)).strftime("%Y-%m-%dT%H") for n in range(len(hours))]
                assert hours == expected, f"{actor_id}: an hour run twice or skipped"
                assert len(hours) >= 72
                after = start + timedelta(hours=len(hours))
                assert call(session, "GET", f"{second.api}/{actor_id}")["cronNextEx"] == \
                    f"{after.year}-{after.month}-{after.day} {after.hour}"
                assert {e["id"] for e in listed} <= set(ran)
        second.stop("closed")
    finally:
        second.ensure_gone()


def test_a_clock_cut_inside_an_advance_restarts_no_earlier_than_what_it_recorded(tmp_path):
    """The cron executions stored during the cut advance carry the hours it had reached:
    the restarted clock must not be behind them (a clock that goes back reorders records)."""
    actors, _ = kill_inside_an_advance(tmp_path)
    second = Server.local(tmp_path, "--image-first")
    try:
        with requests.Session() as session:
            now = call(session, "GET", f"{second.url}/emulator/v1/clock")["now"]
            latest = max(e["messageReceivedTime"] for a in actors for e in executions(session, second.api, a))
            assert now >= latest, f"the clock restarted at {now}, before an execution received at {latest}"
        second.stop("closed")
    finally:
        second.ensure_gone()


def test_an_answered_advance_survives_a_sigkill(tmp_path):
    first = Server.local(tmp_path, "--image-first")
    try:
        with requests.Session() as session:
            moved = call(session, "POST", f"{first.url}/emulator/v1/clock", json={"seconds": 2 * 24 * HOUR})
        first.kill()
    finally:
        first.ensure_gone()
    second = Server.local(tmp_path, "--image-first")
    try:
        with requests.Session() as session:
            shown = call(session, "GET", f"{second.url}/emulator/v1/clock")
            assert shown["offset_seconds"] >= moved["offset_seconds"]
            assert shown["now"] >= moved["now"]
        second.stop("closed")
    finally:
        second.ensure_gone()


# -- closed and reopened in process ---------------------------------------------------------------

def test_the_clock_stays_advanced_when_the_emulator_is_reopened(tmp_path):
    db = str(tmp_path / "abaco.json")
    with AbacoEmulator(db_path=db, runner="local") as emulator:
        emulator.advance_time(3 * 24 * HOUR)
    with AbacoEmulator(db_path=db, runner="local") as reopened:
        assert reopened.clock.now() - datetime.now(timezone.utc) > timedelta(days=3, seconds=-5)
        reopened.register_image("quiet:1", lambda ctx: None)
        created = reopened.actors.add(body={"image": "quiet:1"}).createTime
        assert created > (datetime.now(timezone.utc) + timedelta(days=2, hours=23)).strftime("%Y-%m-%dT%H:%M")


def test_logs_written_before_a_reopen_still_expire_after_it(tmp_path):
    db = str(tmp_path / "abaco.json")
    with AbacoEmulator(db_path=db, runner="local") as emulator:
        emulator.register_image("talk:1", lambda ctx: print("said it"))
        actor = emulator.actors.add(body={"image": "talk:1", "logEx": 600})
        sent = emulator.actors.sendMessage(actorId=actor.id, body={"message": "m"})
        emulator.wait_for_execution(actor.id, sent.executionId, timeout=10)
    with AbacoEmulator(db_path=db, runner="local") as reopened:
        assert reopened.actors.getExecutionLogs(actorId=actor.id, executionId=sent.executionId).logs == "said it\n"
        reopened.advance_time(601)
        assert reopened.actors.getExecutionLogs(actorId=actor.id, executionId=sent.executionId).logs == ""


def test_a_reopened_emulator_tells_no_link_of_a_change_nobody_made(tmp_path):
    """The actors start again on reopening: READY as before, which is no ACTOR_READY event.
    (The image is known before the file is opened, as a Docker image would be.)"""
    db = str(tmp_path / "abaco.json")
    seen: list[str] = []

    def runner() -> LocalRunner:
        ready = LocalRunner()
        ready.register("seen:1", lambda ctx: seen.append(ctx.message_dict["event_type"]))
        return ready

    with AbacoEmulator(db_path=db, runner=runner()) as emulator:
        target = emulator.actors.add(body={"image": "seen:1"})
        emulator.actors.add(body={"image": "seen:1", "link": target.id})
        wait_until(lambda: seen, 10, "the ACTOR_READY event")
        emulator.drain(10)
    with AbacoEmulator(db_path=db, runner=runner()) as reopened:
        wait_until(lambda: all(a["status"] == "READY" for a in reopened.store.all("actors")), 10, "READY again")
        reopened.drain(10)
        assert seen == ["ACTOR_READY"]
        assert len(reopened.actors.listExecutions(actorId=target.id).executions) == 1
