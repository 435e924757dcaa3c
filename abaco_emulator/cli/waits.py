"""How the commands poll: `waiting.poll` at one interval, every sleep going through `pause`
(looked up at each call, so tests can replace it to step or interrupt a wait)."""
from __future__ import annotations

import time
from typing import Callable, TypeVar

from ..waiting import poll

POLL_SECONDS = 0.2

T = TypeVar("T")


def pause(seconds: float) -> None:
    """One polling interval."""
    time.sleep(seconds)


def until(check: Callable[[], T | None], timeout: float | None, interval: float = POLL_SECONDS) -> T | None:
    """The first true value of `check()` (see `waiting.poll`); None once `timeout` is up."""
    return poll(check, timeout, interval, sleep=pause)
