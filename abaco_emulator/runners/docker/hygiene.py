"""Labels on every container the Docker runner makes, and removing them so none is left behind.

A container carries labels naming the emulator instance, its process (pid and start
time, so a reused pid is not mistaken for it), host, execution and actor. With them a
container is removed after its execution (one the engine could not remove is tried
again later), an instance's containers are swept on `close()` and at interpreter exit,
and those of an emulator process that died are removed when the next one starts here.
"""
from __future__ import annotations

import os
import socket
import threading
import weakref
from typing import Any, Iterable

from ..workdirs import process_alive, process_start, sweep_dead_workdirs

LABEL_PREFIX = "abaco-emulator"
LABEL_INSTANCE = f"{LABEL_PREFIX}.instance"
LABEL_PID = f"{LABEL_PREFIX}.pid"
LABEL_PID_START = f"{LABEL_PREFIX}.pid-start"
LABEL_HOST = f"{LABEL_PREFIX}.host"
LABEL_EXECUTION = f"{LABEL_PREFIX}.execution"
LABEL_ACTOR = f"{LABEL_PREFIX}.actor"

WORKDIR_PREFIX = "abaco-docker-"  # the runner's temporary directories, swept with its containers

_swept_by: set[int] = set()  # processes whose first runner swept what dead processes left


def _labelled(client: Any, label: str) -> list[Any]:
    """The containers carrying `label` (none when the engine cannot be asked)."""
    try:
        return list(client.containers.list(all=True, filters={"label": label}, ignore_removed=True))
    except Exception:
        return []


def _force_remove(containers: Iterable[Any]) -> int:
    """Force-remove `containers`; how many went (what cannot be removed is left)."""
    removed = 0
    for container in containers:
        try:
            container.remove(force=True)
            removed += 1
        except Exception:
            pass
    return removed


def remove_labelled(client: Any, label: str) -> int:
    """Force-remove every container carrying `label`."""
    return _force_remove(_labelled(client, label))


class LabelledContainers:
    """The containers of one runner instance, from their creation to their removal.

    The first one made in a process first sweeps what dead processes left on this host;
    the instance's containers go when `owner` (the runner) is garbage or the interpreter
    exits, if `close()` did not remove them before.
    """

    def __init__(self, owner: object, client: Any, instance: str) -> None:
        self.instance = instance
        self._client = client
        self._pid = os.getpid()
        self._host = socket.gethostname()
        self._lock = threading.Lock()
        self._unremoved: dict[str, Any] = {}
        self._created_any = False  # no container made: nothing to sweep at close
        if os.getpid() not in _swept_by:  # what died before this process started: once is enough
            _swept_by.add(os.getpid())
            self.sweep_dead()
        self._finalizer = weakref.finalize(owner, remove_labelled, client, f"{LABEL_INSTANCE}={instance}")

    def create(self, image: str, execution_id: str, actor_id: str, **options: Any) -> Any:
        """A new container of `image` for one execution, with this instance's labels."""
        self._created_any = True
        labels = {
            LABEL_INSTANCE: self.instance, LABEL_PID: str(self._pid),
            LABEL_PID_START: process_start(self._pid), LABEL_HOST: self._host,
            LABEL_EXECUTION: execution_id, LABEL_ACTOR: actor_id,
        }
        return self._client.containers.create(image, labels=labels, **options)

    def remove(self, container: Any) -> None:
        """Remove a container; one the engine could not remove is tried again after the
        next removal that works (a daemon that was away may be back)."""
        import docker.errors

        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            pass
        except Exception:
            with self._lock:
                self._unremoved[container.id] = container
            return
        with self._lock:
            retry, self._unremoved = list(self._unremoved.values()), {}
        for leftover in retry:
            self.remove(leftover)

    def sweep_dead(self) -> int:
        """Remove containers (and temp dirs) left on this host by emulator processes that died."""
        sweep_dead_workdirs(WORKDIR_PREFIX)
        return _force_remove(c for c in _labelled(self._client, LABEL_PID) if self._left_by_the_dead(c))

    def _left_by_the_dead(self, container: Any) -> bool:
        """Whether `container` was made on this host by an emulator process that is gone."""
        labels = container.labels or {}
        if labels.get(LABEL_HOST, self._host) != self._host:
            return False
        try:
            pid = int(labels.get(LABEL_PID, ""))
        except ValueError:
            return False
        return not process_alive(pid, labels.get(LABEL_PID_START, ""))

    def close(self) -> None:
        """Remove every container of this instance (when it made none, without asking the engine)."""
        if self._created_any:
            self._finalizer()
        else:
            self._finalizer.detach()
