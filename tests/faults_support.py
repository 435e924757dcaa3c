"""Helpers of tests/runners/test_actor_faults.py: a Docker daemon that can be stopped, and peak memory.

`DaemonProxy` forwards a Unix socket of the test's own to the real engine's socket, so
a test can "stop the daemon" (refuse connections and cut those open), "freeze" it
(connections stay open, nothing is answered) and "start it again" without touching the
engine everybody else on the machine is using.
"""
from __future__ import annotations

import gc
import os
import socket
import threading


class DaemonProxy:
    """A stoppable stand-in for the Docker daemon's socket, forwarding to the real one."""

    def __init__(self, path: str, target: str = "/var/run/docker.sock") -> None:
        self.path, self.target = path, target
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._flowing = threading.Event()  # cleared: a daemon that hangs without closing anything
        self._flowing.set()

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def start(self) -> None:
        """Accept connections (again): the daemon is up."""
        if os.path.exists(self.path):
            os.unlink(self.path)  # the stale socket file of a stopped proxy
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.path)
        listener.listen(64)
        with self._lock:
            self._listener = listener
        self._spawn(self._accept, listener)

    def stop(self) -> None:
        """Refuse new connections and cut the open ones: the daemon is down.

        The socket file stays, with nobody listening, so a client gets "connection
        refused" as it does from a daemon that stopped.
        """
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, []
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            except OSError:
                pass
            listener.close()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def freeze(self) -> None:
        """Keep every connection open but forward nothing: the daemon hangs."""
        self._flowing.clear()

    def thaw(self) -> None:
        """Forward again what was held: the daemon answers again."""
        self._flowing.set()

    def close(self) -> None:
        """Stop, remove the socket file and wait for every forwarding thread."""
        self.stop()
        for thread in self._threads:
            thread.join(5)
        if os.path.exists(self.path):
            os.unlink(self.path)

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, name="faults-daemon-proxy", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(self.target)
            except OSError:
                client.close()
                upstream.close()
                continue
            with self._lock:
                if self._listener is not listener:  # stopped while this one was accepted
                    client.close()
                    upstream.close()
                    return
                self._sockets += [client, upstream]
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                while not self._flowing.wait(0.1):
                    if sink.fileno() < 0:
                        return  # cut by stop() while frozen
                sink.sendall(data)
        except OSError:
            return  # cut by stop()
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(f"{field} is not in /proc/self/status")


class PeakMemory:
    """How much the resident memory of this process rose at its peak during a block.

    Resets the kernel's high-water mark (VmHWM) at the start where Linux allows it
    (`/proc/self/clear_refs`), so the peak is the block's own; otherwise it falls back
    to the resident size at the end.
    """

    def __init__(self) -> None:
        self.growth_mib = 0.0

    def __enter__(self) -> "PeakMemory":
        gc.collect()
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
                handle.write("5")
            self._field = "VmHWM"
        except OSError:
            self._field = "VmRSS"
        self._before = _status_kib("VmRSS")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.growth_mib = (_status_kib(self._field) - self._before) / 1024


def memory_measurable() -> bool:
    """Whether /proc/self/status can be read (Linux)."""
    try:
        _status_kib("VmRSS")
        return True
    except (OSError, LookupError):
        return False
