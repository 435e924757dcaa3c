"""Cron schedules as Abaco writes and checks them: `"<start> + <n> <unit>"`.

`start` is `YYYY-MM-DD hh` (no padding needed) or `now`; the unit is hour(s), day(s),
week(s) or month(s). A schedule is checked when an actor is registered or updated
(`Actor.set_cron`), and its first execution hour (`cronNextEx`) is the start as written.
Hours are UTC and the granularity is an hour, as on Abaco. `due` is the hourly check
that makes a schedule run (the scheduler calls it on the emulator's clock).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from dateutil.relativedelta import relativedelta

from .errors import BadRequest

UNITS = ("hour", "hours", "day", "days", "week", "weeks", "month", "months")
_SCHEDULE = re.compile(r"^(.+?) \+ (.+?) (.+)$", re.DOTALL)  # what parse("{} + {} {}") accepts
_START = re.compile(r"^(.+?)-(.+?)-(.+?) (.+)$", re.DOTALL)  # parse("{}-{}-{} {}")


@dataclass(frozen=True)
class Schedule:
    """A checked cron schedule."""

    text: str        # as the user wrote it (what `cronSchedule` shows)
    next_ex: str     # the first execution hour, `Y-M-D H` as Abaco stores it (unpadded for `now`)
    count: int
    unit: str


def this_hour(now: datetime) -> datetime:
    return now.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0, tzinfo=None)


def parse_schedule(text: str, now: datetime) -> Schedule:
    """Check `text` as Abaco does at registration; a BadRequest names what is wrong.

    Abaco answers a bad unit with a 500 and non-numeric date parts with a 500 too; the
    emulator answers 400 for both (README, differences)."""
    match = _SCHEDULE.match(text) if isinstance(text, str) else None
    if match is None:
        raise BadRequest("The cron is not in the correct format")
    start, count_text, unit = match.groups()
    current = this_hour(now)
    if start in ("now", "Now"):
        next_ex = f"{current.year}-{current.month}-{current.day} {current.hour}"
    else:
        parts = _START.match(start)
        if parts is None:
            raise BadRequest(f"The starting date {start} is not in the correct format")
        try:
            year, month, day, hour = (int(part) for part in parts.groups())
            first = datetime(year, month, day, hour)
        except (ValueError, TypeError) as exc:
            raise BadRequest(f"The starting date {start} is not in the correct format ({exc})") from None
        if first < current:
            raise BadRequest(f"The starting datetime is old. The current UTC time is {current}")
        next_ex = start
    try:
        count = int(count_text)
    except ValueError:
        raise BadRequest(f"The cron is not in the correct format: {count_text} is not a number") from None
    if unit not in UNITS:
        raise BadRequest(f"{unit} is an invalid unit of time")
    if count < 1:  # Abaco takes it and its scheduler never gets past the first hour
        raise BadRequest(f"The cron increment must be a positive number of {unit}, not {count}")
    try:
        parse_hour(next_ex) + _increment(text)
    except (OverflowError, ValueError):
        raise BadRequest(f"The cron increment {count} {unit} goes past the year 9999") from None
    return Schedule(text, next_ex, count, unit)


def _increment(schedule: str) -> relativedelta:
    """The step of a checked schedule: months as calendar months (Abaco's relativedelta)."""
    match = _SCHEDULE.match(schedule)
    if match is None:
        raise BadRequest("The cron is not in the correct format")
    count, unit = int(match.group(2)), match.group(3).rstrip("s") + "s"
    return relativedelta(**{unit: count})


def parse_hour(next_ex: str) -> datetime:
    """A stored `cronNextEx` (`Y-M-D H`, padded or not) as a naive UTC datetime."""
    day, hour = next_ex.split(" ")
    year, month, date = day.split("-")
    return datetime(int(year), int(month), int(date), int(hour))


def format_hour(moment: datetime) -> str:
    """An hour as Abaco stores `cronNextEx`: unpadded `Y-M-D H`."""
    return f"{moment.year}-{moment.month}-{moment.day} {moment.hour}"


def due(schedule: str, next_ex: str, now: datetime) -> str | None:
    """The next hour after the check at `now` runs a schedule whose next hour is `next_ex`;
    None while that hour is in the future (nothing runs). On the hour, the run steps it one
    increment; an hour in the past (the emulator was stopped, say) catches up to the first
    slot from now and runs once (TACC/abaco#106), so the runs keep the schedule's rhythm."""
    current, slot = this_hour(now), parse_hour(next_ex)
    if slot > current:
        return None
    step = _increment(schedule)
    while slot < current:
        slot = slot + step
    return format_hour(slot + step if slot == current else slot)


def next_due(next_ex: str) -> datetime:
    """When (aware UTC) an actor whose next hour is `next_ex` is due."""
    return parse_hour(next_ex).replace(tzinfo=timezone.utc)
