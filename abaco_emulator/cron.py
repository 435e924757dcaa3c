"""Cron schedules as Abaco writes and checks them: `"<start> + <n> <unit>"`.

`start` is `YYYY-MM-DD hh` (no padding needed) or `now`; the unit is hour(s), day(s),
week(s) or month(s). A schedule is checked when an actor is registered or updated
(`Actor.set_cron`), and its first execution hour (`cronNextEx`) is the start as written.
Hours are UTC and the granularity is an hour, as on Abaco.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

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
    return Schedule(text, next_ex, count, unit)
