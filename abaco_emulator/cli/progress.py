"""A status line for commands that wait (`send --wait`, `actors add --wait`), on a terminal only.

While a command polls, one line on stderr is rewritten in place (a spinner, what it waits
for, for how long) and erased when the wait ends, so a person sees it is alive. When
either output is not a terminal (piped, redirected, a script) it writes nothing at all:
what a script reads is the same as before.
"""
from __future__ import annotations

import sys
import time
from typing import TextIO

_FRAMES = "|/-\\"
_ERASE = "\r\x1b[K"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed, or not a file
        return False


class StatusLine:
    """`show(text)` at each poll, `clear()` once the wait is over (also as a context manager)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _is_terminal(self.stream) and _is_terminal(sys.stdout)
        self._started = time.monotonic()
        self._frame = 0
        self._shown = False

    def show(self, text: str) -> None:
        if not self.enabled:
            return
        elapsed = time.monotonic() - self._started
        self.stream.write(f"{_ERASE}{_FRAMES[self._frame % len(_FRAMES)]} {text} ({elapsed:.0f} s)")
        self.stream.flush()
        self._frame += 1
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            self.stream.write(_ERASE)
            self.stream.flush()
            self._shown = False

    def __enter__(self) -> "StatusLine":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.clear()
