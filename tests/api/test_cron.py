"""Cron schedules fire (ABACO_REFERENCE.md section 11), on the emulator's clock.

`ag.advance_time(seconds)` moves that clock (in process: `AbacoEmulator.advance_time`;
over HTTP: `POST /emulator/v1/clock`), and every cron hour that comes in the span runs
before it returns. Schedules here start at the next hour, so nothing is due at
registration and every execution is one the test caused. At the end: the hourly check
itself, `cron.due`, as a function.
"""
from __future__ import annotations

import calendar
import math
import threading
from datetime import datetime, timedelta, timezone

import pytest
import requests

from abaco_emulator.cron import due
from abaco_emulator.errors import BadRequest

from abaco_checks import wait_until

HOUR = 3600
DAY = 24 * HOUR


class Recorder:
    """A handler that keeps the context of every execution it runs."""

    def __init__(self) -> None:
        self.runs: list[dict] = []
        self.lock = threading.Lock()

    def __call__(self, ctx):
        print("cron ran:", ctx["raw_message"])
        with self.lock:
            self.runs.append(dict(ctx))


@pytest.fixture
def recorder(ag):
    recorder = Recorder()
    ag.register_image("cron:1", recorder)
    return recorder


def hour_text(moment: datetime) -> str:
    """An hour as a schedule's start and `cronNextEx` write it: `Y-M-D H`, unpadded."""
    return f"{moment.year}-{moment.month}-{moment.day} {moment.hour}"


def this_hour(ag) -> datetime:
    """The emulator's current hour (naive UTC), read without moving its clock."""
    return ag.advance_time(0).replace(minute=0, second=0, microsecond=0, tzinfo=None)


def cron_actor(ag, increment: str, start: datetime | None = None):
    """An actor whose schedule starts at `start` (default: the next hour)."""
    start = start or this_hour(ag) + timedelta(hours=1)
    return ag.actors.add(body={"image": "cron:1", "cronSchedule": f"{hour_text(start)} + {increment}"})


def cron_executions(ag, actor_id: str) -> list:
    ag.drain(20)
    listed = ag.actors.listExecutions(actorId=actor_id).executions
    return [ag.actors.getExecution(actorId=actor_id, executionId=e["id"]) for e in listed]


def received_hours(ag, actor_id: str) -> list[str]:
    return [e.messageReceivedTime[:13] for e in cron_executions(ag, actor_id)]


def iso_hour(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H")


# -- firing ----------------------------------------------------------------------------------

def test_a_cron_execution_runs_for_cron_with_abacos_message(ag, recorder):
    actor = cron_actor(ag, "1 hour")
    ag.advance_time(HOUR)
    (execution,) = cron_executions(ag, actor.id)
    assert execution.executor == "cron" and execution.status == "COMPLETE"
    (run,) = recorder.runs
    assert run["MSG"] == "This is your cron execution"
    assert run["_abaco_Content_Type"] == "str"
    assert run["_abaco_execution_id"] == execution.id
    assert "cron ran: This is your cron execution" in ag.actors.getExecutionLogs(
        actorId=actor.id, executionId=execution.id).logs


def test_a_cron_execution_is_run_for_no_user(ag, recorder):
    """Abaco's CronResource queues the message with only the execution id, the content type
    and the revision: no `_abaco_username` (nor `_abaco_api_server`) reaches the container,
    unlike a message a user sends."""
    actor = cron_actor(ag, "1 hour")
    ag.advance_time(HOUR)
    cron_executions(ag, actor.id)
    (run,) = recorder.runs
    assert "_abaco_username" not in run and run["username"] is None
    assert run["_abaco_actor_revision"] == "1"


def test_a_schedule_runs_once_per_hour_that_the_clock_passes(ag, recorder):
    first = this_hour(ag) + timedelta(hours=1)
    actor = cron_actor(ag, "1 hour", first)
    assert actor.cronNextEx == hour_text(first)
    ag.advance_time(0)
    assert cron_executions(ag, actor.id) == []  # its hour has not come
    ag.advance_time(HOUR)
    assert len(cron_executions(ag, actor.id)) == 1
    assert ag.actors.get(actorId=actor.id).cronNextEx == hour_text(first + timedelta(hours=1))
    ag.advance_time(3 * HOUR)
    # One execution at each hour, received at that hour (the clock stops at each on its way).
    assert received_hours(ag, actor.id) == [iso_hour(first + timedelta(hours=n)) for n in range(4)]
    assert ag.actors.get(actorId=actor.id).cronNextEx == hour_text(first + timedelta(hours=4))


def test_a_schedule_starting_now_runs_its_first_execution_without_any_advance(ag, recorder):
    """`now` is the current hour: due at once (Abaco runs it at its next check, within a minute)."""
    actor = ag.actors.add(body={"image": "cron:1", "cronSchedule": "now + 1 hour"})
    # (The real clock: advance_time(0) would run the check itself.)
    assert actor.cronNextEx == hour_text(datetime.now(timezone.utc))
    wait_until(lambda: ag.actors.listExecutions(actorId=actor.id).executions, 5, "the first cron execution")
    assert [e.executor for e in cron_executions(ag, actor.id)] == ["cron"]
    assert ag.actors.get(actorId=actor.id).cronNextEx == hour_text(this_hour(ag) + timedelta(hours=1))


@pytest.mark.parametrize("increment, step, span, runs", [
    ("2 hours", timedelta(hours=2), 5 * HOUR, 3),
    ("1 day", timedelta(days=1), 3 * DAY, 3),
    ("3 days", timedelta(days=3), 7 * DAY, 3),
    ("1 week", timedelta(weeks=1), 15 * DAY, 3),
    ("2 weeks", timedelta(weeks=2), 29 * DAY, 3),
])
def test_hours_days_and_weeks_step_the_next_execution(ag, recorder, increment, step, span, runs):
    first = this_hour(ag) + timedelta(hours=1)
    actor = cron_actor(ag, increment, first)
    ag.advance_time(span)
    assert received_hours(ag, actor.id) == [iso_hour(first + n * step) for n in range(runs)]
    assert ag.actors.get(actorId=actor.id).cronNextEx == hour_text(first + runs * step)


def test_months_are_calendar_months_stepped_from_the_last_execution(ag, recorder):
    """Jan 31 + 1 month is the last day of February, and the next is the same day of March
    (each step from the one before, as Abaco's relativedelta on the stored hour)."""
    year = this_hour(ag).year + 1
    february = 29 if calendar.isleap(year) else 28
    start = datetime(year, 1, 31, 10)
    actor = cron_actor(ag, "1 month", start)

    def advance_to(moment: datetime) -> None:
        ag.advance_time((moment - ag.advance_time(0).replace(tzinfo=None)).total_seconds() + 60)

    advance_to(start)
    assert ag.actors.get(actorId=actor.id).cronNextEx == f"{year}-2-{february} 10"
    advance_to(datetime(year, 2, february, 10))
    assert ag.actors.get(actorId=actor.id).cronNextEx == f"{year}-3-{february} 10"
    advance_to(datetime(year, 3, february, 10))
    assert ag.actors.get(actorId=actor.id).cronNextEx == f"{year}-4-{february} 10"
    assert received_hours(ag, actor.id) == [f"{year}-01-31T10", f"{year}-02-{february}T10",
                                            f"{year}-03-{february}T10"]


@pytest.mark.parametrize("behind_hours", [3 * 24, 3 * 24 - 2])
def test_a_next_execution_in_the_past_catches_up_and_runs_once(ag, recorder, behind_hours):
    """As after an emulator was stopped for days (TACC/abaco#106): one execution, then the
    schedule's own rhythm again. The stored hour is set back by hand to be in the past."""
    now = this_hour(ag)
    actor = cron_actor(ag, "1 day")
    stale = now - timedelta(hours=behind_hours)
    ag.store.actors.update(actor.id, {"cron_next_ex": hour_text(stale)})
    ag.advance_time(0)
    assert len(cron_executions(ag, actor.id)) == 1
    caught_up = stale + timedelta(days=3) + (timedelta(days=1) if stale + timedelta(days=3) == now else timedelta())
    assert caught_up > now
    assert ag.actors.get(actorId=actor.id).cronNextEx == hour_text(caught_up)
    ag.advance_time(60)
    assert len(cron_executions(ag, actor.id)) == 1  # once, not once per missed day
    ag.advance_time((caught_up - now).total_seconds())
    assert len(cron_executions(ag, actor.id)) == 2


def test_cron_on_false_stops_executions_but_the_next_hour_still_moves_on(ag, recorder):
    first = this_hour(ag) + timedelta(hours=1)
    actor = cron_actor(ag, "1 hour", first)
    assert actor.cronOn is True
    body = {"image": "cron:1", "cronOn": False, "cronSchedule": f"{hour_text(first)} + 1 hour"}
    updated = ag.actors.update(actorId=actor.id, body=body)
    assert updated.cronOn is False
    ag.advance_time(3 * HOUR)
    assert cron_executions(ag, actor.id) == []
    assert ag.actors.get(actorId=actor.id).cronNextEx == hour_text(first + timedelta(hours=3))
    ag.actors.update(actorId=actor.id, body={"image": "cron:1", "cronOn": True,
                                             "cronSchedule": f"{hour_text(first + timedelta(hours=3))} + 1 hour"})
    ag.advance_time(HOUR)
    assert received_hours(ag, actor.id) == [iso_hour(first + timedelta(hours=3))]


def test_a_deleted_cron_actor_runs_no_more(ag, recorder):
    actor = cron_actor(ag, "1 hour")
    ag.advance_time(HOUR)
    ag.drain(10)
    ag.actors.delete(actorId=actor.id)
    ag.advance_time(3 * HOUR)
    ag.drain(10)
    assert len(recorder.runs) == 1


# -- the times the API shows follow the clock ---------------------------------------------------

def test_times_shown_follow_the_advanced_clock(ag, recorder):
    real_before = datetime.now(timezone.utc).replace(tzinfo=None)
    ag.advance_time(2 * DAY)
    actor = ag.actors.add(body={"image": "cron:1", "cronSchedule": "now + 1 hour"})
    moved = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(days=2)
    created = datetime.strptime(actor.createTime, "%Y-%m-%dT%H:%M:%S.%fZ")
    assert real_before + timedelta(days=2) - timedelta(seconds=5) <= created <= moved + timedelta(seconds=5)
    assert actor.lastUpdateTime == actor.createTime
    assert actor.cronNextEx == hour_text(created.replace(minute=0, second=0, microsecond=0))
    ag.advance_time(HOUR)
    for execution in cron_executions(ag, actor.id):
        received = datetime.strptime(execution.messageReceivedTime, "%Y-%m-%dT%H:%M:%S.%fZ")
        assert received >= created
        assert datetime.strptime(execution.startTime, "%Y-%m-%dT%H:%M:%S.%fZ") >= received
    sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "by hand"})
    shown = ag.wait_for_execution(actor.id, sent.executionId, timeout=10)
    assert shown.messageReceivedTime >= iso_hour(created + timedelta(hours=1))


def test_the_clock_only_moves_forward_and_each_emulator_has_its_own(ag):
    before = ag.advance_time(0)
    after = ag.advance_time(DAY)
    assert timedelta(days=1) <= after - before < timedelta(days=1, seconds=5)
    assert ag.advance_time(0) >= after


def test_any_user_view_moves_the_one_clock_of_its_emulator(ag, recorder):
    actor = cron_actor(ag, "1 hour")
    bob = ag.as_user("bob")
    before = ag.advance_time(0)
    bob.advance_time(HOUR)
    assert ag.advance_time(0) - before >= timedelta(hours=1)
    assert len(cron_executions(ag, actor.id)) == 1  # bob's advance ran testuser's schedule


# -- what advance_time refuses ---------------------------------------------------------------

@pytest.mark.parametrize("seconds", [-1, -0.5, math.nan, math.inf, 1e30, "3600", None, True, [60]],
                         ids=["negative", "negative-fraction", "nan", "inf", "huge", "text", "none", "bool", "list"])
def test_advance_time_refuses_what_is_not_a_number_of_seconds_forward(ag, seconds):
    before = ag.advance_time(0)
    if isinstance(seconds, float) and not math.isfinite(seconds) and hasattr(ag, "url"):
        pytest.skip("JSON has no NaN or Infinity: tests/transports/test_clock.py sends them as raw text")
    with pytest.raises((BadRequest, requests.HTTPError)) as info:
        ag.advance_time(seconds)
    if isinstance(info.value, requests.HTTPError):
        assert info.value.response.status_code == 400
        assert "seconds" in info.value.response.json()["message"]
    else:
        assert "seconds" in str(info.value)
    assert ag.advance_time(0) - before < timedelta(seconds=5)  # not moved


# -- the hourly check itself (cron.due) ---------------------------------------------------------

NOW = datetime(2027, 3, 10, 14, 25)


@pytest.mark.parametrize("schedule, next_ex, expected", [
    ("2027-3-10 15 + 1 hour", "2027-3-10 15", None),           # its hour has not come
    ("2027-3-10 14 + 1 hour", "2027-3-10 14", "2027-3-10 15"),  # this hour: runs, one step on
    ("2027-03-10 14 + 1 hour", "2027-03-10 14", "2027-3-10 15"),  # padded as written; stored unpadded
    ("2027-3-10 14 + 2 hours", "2027-3-10 14", "2027-3-10 16"),
    ("2027-3-10 14 + 1 day", "2027-3-10 14", "2027-3-11 14"),
    ("2027-3-10 14 + 2 weeks", "2027-3-10 14", "2027-3-24 14"),
    ("2027-3-10 14 + 1 month", "2027-3-10 14", "2027-4-10 14"),
    ("2027-3-10 14 + 12 months", "2027-3-10 14", "2028-3-10 14"),
    ("2027-3-10 11 + 1 hour", "2027-3-10 11", "2027-3-10 15"),  # 3 hours behind: catches up, runs once
    ("2027-3-7 14 + 1 day", "2027-3-7 14", "2027-3-11 14"),     # behind onto this very hour: one step on
    ("2027-3-7 16 + 1 day", "2027-3-7 16", "2027-3-10 16"),     # behind: the first slot from now
    ("2026-12-31 14 + 1 month", "2027-1-31 14", "2027-3-28 14"),  # from Jan 31: Feb 28, then Mar 28 ...
])
def test_due_runs_a_schedule_whose_hour_has_come_and_names_the_next(schedule, next_ex, expected):
    assert due(schedule, next_ex, NOW) == expected


def test_due_from_the_end_of_january_steps_through_the_shorter_months():
    assert due("x + 1 month", "2027-1-31 9", datetime(2027, 1, 31, 9, 59)) == "2027-2-28 9"
    assert due("x + 1 month", "2028-1-31 9", datetime(2028, 1, 31, 9)) == "2028-2-29 9"  # a leap year
    assert due("x + 1 month", "2027-2-28 9", datetime(2027, 2, 28, 9)) == "2027-3-28 9"


def test_due_refuses_a_schedule_it_cannot_step():
    with pytest.raises(BadRequest):
        due("every hour", "2027-3-10 14", NOW)
