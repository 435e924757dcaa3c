"""What a runner collects while an execution runs: its log and its results.

Both runners bound them the same way (Abaco's log limit, its per-datagram limit for a
result, the emulator's own count and byte total per execution) and say in the log what
was dropped; the results socket a container or a command sends datagrams to is here too.
"""
from __future__ import annotations

import os
import select
import socket
import threading

from ..models import (LOG_LIMIT, LOG_TRUNCATED_SUFFIX, MAX_RESULT_BYTES, MAX_RESULTS_PER_EXECUTION,
                      MAX_RESULTS_TOTAL_BYTES)

_RECEIVE_BUFFER = 1 << 18  # above the largest datagram a default Linux socket can send


class LogBuffer:
    """Collects an execution's output, keeping at most Abaco's log limit in memory."""

    def __init__(self, limit: int = LOG_LIMIT) -> None:
        self._limit = limit
        self._parts: list[str] = []
        self._size = 0
        self.truncated = False
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            room = self._limit - self._size
            if room <= 0:
                self.truncated = self.truncated or bool(text)
                return len(text)
            if len(text) > room:
                self.truncated = True
                text = text[:room]
            self._parts.append(text)
            self._size += len(text)
        return len(text)

    def text(self) -> str:
        with self._lock:
            body = "".join(self._parts)
            return body + LOG_TRUNCATED_SUFFIX if self.truncated else body


class Results:
    """The results of one execution, in order, within bounds; what is dropped is said
    in the execution's log: a result above Abaco's datagram limit, and everything
    past the emulator's count or byte total for one execution."""

    def __init__(self, log: LogBuffer) -> None:
        self.items: list[bytes] = []
        self._log = log
        self._bytes = 0
        self._full = False

    def keep(self, value: bytes, truncated: bool = False) -> None:
        if truncated or len(value) > MAX_RESULT_BYTES:
            size = f"more than {len(value)}" if truncated else str(len(value))
            self._log.write(f"abaco-emulator: a result of {size} bytes was dropped: results are limited to "
                            f"{MAX_RESULT_BYTES} bytes per datagram.\n")
            return
        if self._full or len(self.items) >= MAX_RESULTS_PER_EXECUTION \
                or self._bytes + len(value) > MAX_RESULTS_TOTAL_BYTES:
            if not self._full:
                self._full = True
                self._log.write(f"abaco-emulator: this result and all later ones were dropped: an execution "
                                f"keeps at most {MAX_RESULTS_PER_EXECUTION} results and "
                                f"{MAX_RESULTS_TOTAL_BYTES} bytes of results.\n")
            return
        self._bytes += len(value)
        self.items.append(value)


class ResultsReceiver:
    """The results socket of one execution: a Unix datagram socket bound at `path`.

    Each datagram is one result. A thread receives them while the actor runs, so a
    sender never blocks on a full socket queue; `finish()`, called once the actor has
    ended, takes what is still queued (everything sent before the end is) and returns
    the results in order.
    """

    def __init__(self, path: str, log: LogBuffer) -> None:
        self.path = path
        self.results = Results(log)
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._wake_read, self._wake_write = socket.socketpair()
        self._thread: threading.Thread | None = None
        try:
            self._socket.bind(path)
            os.chmod(path, 0o666)  # whatever user the actor runs as may send
            self._socket.setblocking(False)
        except OSError:
            self.close()
            raise

    def start(self, name: str) -> None:
        self._thread = threading.Thread(target=self._receive, name=name, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self._socket, self._wake_read], [], [])
            except (OSError, ValueError):
                return
            self._take_queued()
            if self._wake_read in ready:
                return

    def _take_queued(self) -> None:
        buffer = bytearray(_RECEIVE_BUFFER)
        while True:
            try:
                size, _, flags, _ = self._socket.recvmsg_into([buffer])
            except (BlockingIOError, OSError):
                return
            self.results.keep(bytes(buffer[:size]), truncated=bool(flags & socket.MSG_TRUNC))

    def finish(self, timeout: float = 30.0) -> list[bytes]:
        """Stop receiving (the actor has ended) and return every result, in order."""
        if self._thread is not None and self._thread.is_alive():
            try:
                self._wake_write.send(b"x")
            except OSError:
                pass
            self._thread.join(timeout)
        elif self._thread is None:
            self._take_queued()
        return list(self.results.items)

    def close(self) -> None:
        self.finish()
        for item in (self._socket, self._wake_read, self._wake_write):
            item.close()
