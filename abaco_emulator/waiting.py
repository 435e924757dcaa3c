"""Deadlines: the one way the package waits for something with a time limit.

Every wait of the emulator (an execution to finish, a container to end, a CLI poll,
the demo's progress) is "until this is true, or the time is up"; `Deadline` holds the
arithmetic of the time that is left, so each loop states only what it waits for.
"""
from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


class Deadline:
    """A point in time `timeout` seconds from now (None: never)."""

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self._end = None if timeout is None else time.monotonic() + timeout

    def remaining(self) -> float | None:
        """Seconds left (never below 0), or None without a limit."""
        return None if self._end is None else max(0.0, self._end - time.monotonic())

    @property
    def expired(self) -> bool:
        return self._end is not None and time.monotonic() >= self._end

    def step(self, interval: float) -> float:
        """How long the next wait may be: `interval`, or less if the deadline comes first."""
        left = self.remaining()
        return interval if left is None else min(interval, left)


def poll(check: Callable[[], T | None], timeout: float | None, interval: float,
         sleep: Callable[[float], object] = time.sleep) -> T | None:
    """The first true value of `check()`, asked every `interval` seconds; None once the time is up.

    `check` is asked once more at the deadline, so a value that arrives during the last
    interval is not missed.
    """
    deadline = Deadline(timeout)
    while True:
        value = check()
        if value:
            return value
        if deadline.expired:
            return None
        sleep(deadline.step(interval))
