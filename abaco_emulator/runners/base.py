"""The interface between the engine and the things that actually run an execution."""
from __future__ import annotations

import os
import select
import shutil
import socket
import tempfile
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable

from ..models import (LOG_LIMIT, LOG_TRUNCATED_SUFFIX, MAX_RESULT_BYTES, MAX_RESULTS_PER_EXECUTION,
                      MAX_RESULTS_TOTAL_BYTES)

_RECEIVE_BUFFER = 1 << 18  # above the largest datagram a default Linux socket can send

# Runs in the actor's Python (2 or 3) at start-up; must never break an actor.
_SITECUSTOMIZE = """\
# Put first on PYTHONPATH by abaco-emulator: patch agavepy, when the actor imports it, so
# that it reaches the emulator's plain-HTTP server (and, outside a container, the binary
# message and results socket the local runner names); then run the actor's own
# sitecustomize, if any.
import os
import sys
try:
    import abaco_emulator_agave
    abaco_emulator_agave.patch_agavepy_on_import()
except Exception:
    pass
try:
    import importlib.machinery
    import importlib.util
    _here = os.path.dirname(os.path.abspath(__file__))
    _rest = [p for p in sys.path if os.path.abspath(p or ".") != _here]
    _spec = importlib.machinery.PathFinder.find_spec("sitecustomize", _rest)
    if _spec is not None and _spec.loader is not None:
        _spec.loader.exec_module(importlib.util.module_from_spec(_spec))
except Exception:
    pass
"""


@dataclass
class ExecutionSpec:
    """Everything a runner needs to run one execution of an actor."""

    execution_id: str
    actor_id: str
    worker_id: str
    image: str
    environment: dict[str, str]
    binary: bytes | None = None
    max_run_time: float | None = None
    mem_limit: str | int | None = None
    max_cpus: int | None = None
    use_container_uid: bool = False
    privileged: bool = False
    mounts: list[dict[str, Any]] = field(default_factory=list)
    # Called with the new state when an in-process handler updates it.
    update_state: Callable[[Any], None] | None = None


@dataclass
class RunOutcome:
    """What an execution left behind once it ended."""

    exit_code: int
    logs: str
    results: list[bytes]
    start_time: str
    finish_time: str
    runtime: int
    cpu: int = 0
    io: int = 0
    final_state: dict[str, Any] = field(default_factory=dict)


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


class Runner(ABC):
    """Runs executions; one instance serves every worker of an emulator."""

    name = "runner"

    @abstractmethod
    def prepare(self, image: str) -> None:
        """Make sure `image` can run; raise ImageUnavailable saying why not."""

    @abstractmethod
    def run(self, spec: ExecutionSpec) -> RunOutcome:
        """Run one execution to its end (or its time limit) and report it."""

    @abstractmethod
    def stop(self, execution_id: str) -> None:
        """Force-quit a running execution; `run` then returns promptly."""

    def close(self) -> None:
        """Release everything the runner holds (containers, threads, files)."""


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


def process_start(pid: int) -> str:
    """When process `pid` started (Linux clock ticks), to tell it from a later reuse of its pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode("ascii", "replace")
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def process_alive(pid: int, started: str = "") -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, but someone else's
    except OSError:
        return False
    return not started or not process_start(pid) or process_start(pid) == started


def make_workdir(prefix: str) -> str:
    """A private temporary directory named `<prefix><pid>-...`, so that the directories
    of a process that died can be found and swept (`sweep_dead_workdirs`)."""
    directory = tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-")
    os.chmod(directory, 0o755)  # the actor may run as another user
    return directory


def write_python_support(directory: str) -> str:
    """Fill `directory` with what goes first on an actor's PYTHONPATH, so that agavepy's
    helpers work against the emulator unchanged (agave.py's patches, applied from a
    sitecustomize that then runs the actor's own); returns `directory`."""
    from .. import agave

    shutil.copyfile(agave.__file__, os.path.join(directory, "abaco_emulator_agave.py"))
    with open(os.path.join(directory, "sitecustomize.py"), "w", encoding="utf-8") as handle:
        handle.write(_SITECUSTOMIZE)
    for name in os.listdir(directory):
        os.chmod(os.path.join(directory, name), 0o644)  # the actor may run as another user
    return directory


def sweep_dead_workdirs(prefix: str) -> None:
    """Remove the temporary directories `make_workdir(prefix)` made in processes that died."""
    base = tempfile.gettempdir()
    try:
        names = [n for n in os.listdir(base) if n.startswith(prefix)]
    except OSError:
        return
    for name in names:
        try:
            pid = int(name[len(prefix):].split("-", 1)[0])
        except ValueError:
            continue
        if not process_alive(pid):
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)
