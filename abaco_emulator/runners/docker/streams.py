"""What is read from a Docker container while it runs: its output and its statistics.

Each is read by a thread of its own beside the execution, until `ended` is set (the
output reader sets it itself once the container's output closes, which is how the
runner learns that the container ended).
"""
from __future__ import annotations

import codecs
import threading
from typing import Any, Iterator

from ..output import LogBuffer

_MAX_PENDING_LINE = 1 << 16  # a longer line without a newline is logged in pieces
_FIRST_STATS_DELAY = 0.2


class OutputStream:
    """A container's stdout and stderr, attached to before it starts, as (out, err) chunks.

    The SDK's own `attach(stream=True)` leaves its socket to the garbage collector once
    the stream has ended (a ResourceWarning per execution); this one closes it, and it
    waits for output as long as the container runs, whatever the client's timeout.
    """

    def __init__(self, api: Any, container_id: str) -> None:
        self._socket = api.attach_socket(container_id, params={"stdout": 1, "stderr": 1, "stream": 1, "logs": 0})
        for item in (self._socket, getattr(self._socket, "_sock", None)):
            if item is not None and hasattr(item, "settimeout"):
                item.settimeout(None)  # the container may stay silent for as long as it runs

    def __iter__(self) -> Iterator[tuple[bytes | None, bytes | None]]:
        from docker.utils.socket import STDERR, frames_iter
        for stream_id, data in frames_iter(self._socket, tty=False):
            yield (None, data) if stream_id == STDERR else (data, None)

    def close(self) -> None:
        for item in (getattr(self._socket, "_sock", None), self._socket, getattr(self._socket, "_response", None)):
            try:
                if item is not None:
                    item.close()
            except Exception:
                pass  # already closed


def read_logs(stream: OutputStream, log: LogBuffer, ended: threading.Event) -> None:
    """Copy stdout+stderr into the log, whole lines at a time; set `ended` when the output closes.

    Docker copies the two pipes separately, so a stderr line can overtake a stdout
    backlog and land in the middle of a stdout line; assembling lines per stream
    keeps every line whole (as `docker logs` shows them). Past the log limit the
    output is still read, and dropped, so the container never blocks on it.
    """
    decoders = [codecs.getincrementaldecoder("utf-8")(errors="replace") for _ in range(2)]
    pending = ["", ""]

    def take(index: int, data: bytes | None, final: bool = False) -> None:
        text = pending[index] + decoders[index].decode(data or b"", final=final)
        cut = len(text) if final or len(text) > _MAX_PENDING_LINE else text.rfind("\n") + 1
        if cut:
            log.write(text[:cut])
        pending[index] = text[cut:]

    try:
        for out, err in stream:
            if out:
                take(0, out)
            if err:
                take(1, err)
    except Exception:
        pass  # the daemon went away: the waiting thread finds out by asking it
    finally:
        take(0, None, final=True)
        take(1, None, final=True)
        ended.set()


def sample_stats(api: Any, container: Any, stats: dict[str, int], ended: threading.Event) -> None:
    """Keep the latest CPU time and bytes received, sampled until `ended`.

    Docker has no statistics for a container that ended, so the last sample stands
    (Abaco sampled the same way). One-shot samples answer at once; a streamed or
    two-sample read would hold the execution up to a second after it ended.
    """
    one_shot: bool | None = True
    # The first sample waits a little: a container that ends at once has nothing to
    # show, and the engine runs it faster without a stats request beside it.
    if ended.wait(_FIRST_STATS_DELAY):
        return
    while True:
        try:
            sample = api.stats(container.id, stream=False, one_shot=one_shot)
        except Exception as exc:
            if one_shot and "one_shot" in str(exc):  # an engine older than API 1.41
                one_shot = None
                continue
            sample = {}
        cpu = ((sample.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage") or 0
        networks = sample.get("networks") or {}
        received = sum(int(n.get("rx_bytes") or 0) for n in networks.values())
        stats["cpu"] = max(stats["cpu"], int(cpu))
        stats["io"] = max(stats["io"], received)
        if ended.wait(0.5):
            return
