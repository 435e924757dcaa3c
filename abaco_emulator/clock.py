"""The emulator's clock: real UTC time plus what a test moved it forward by.

Nobody can wait an hour for a cron schedule or half a day for logs to expire, so each
emulator reads the time from its own `Clock`, and `advance_time` moves it. Every time
the API shows (`createTime`, `startTime`, `cronNextEx`, ...) and every time that makes
something happen (a schedule's hour, a log's expiry) comes from it. One clock per
emulator: advancing one emulator never moves another's.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from .models import format_time


class Clock:
    """UTC now, shifted by an offset that only grows."""

    def __init__(self, offset_seconds: float = 0.0) -> None:
        self._offset = float(offset_seconds)
        self._lock = threading.Lock()

    @property
    def offset_seconds(self) -> float:
        return self._offset

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + timedelta(seconds=self._offset)

    def stamp(self) -> str:
        """Now, as the API shows times (ISO-8601, milliseconds, a trailing Z)."""
        return format_time(self.now())

    def timestamp(self) -> float:
        """Now, as seconds since the epoch (what expiry times are kept as)."""
        return self.now().timestamp()

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def advance_to(self, moment: datetime) -> None:
        """Move forward to `moment` (never back: a clock that goes back reorders records)."""
        with self._lock:
            gap = (moment - self.now()).total_seconds()
            if gap > 0:
                self._offset += gap
