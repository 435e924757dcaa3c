"""`DockerRunner`: one execution, one fresh container of the actor's image, from creation to outcome.

The runner mounts what the contract puts in the container (the binary message, the
results socket, the Python support directory), creates and starts the container,
waits for it within the execution's time limit (pinging an engine that stays quiet),
and collects its exit code, log, results and statistics; then it removes it. The
package's `__init__` lists the contract, and where the other concerns live.
"""
from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from ...advice import PYTHON, Advice
from ...errors import ImageUnavailable, RunnerFailure, RunnerUnavailable
from ...clock import Clock
from ...models import PULL_POLICIES
from ...waiting import Deadline
from ..base import KILLED_EXIT_CODE, ExecutionSpec, RunOutcome, Runner
from ..output import LogBuffer, ResultsReceiver
from ..workdirs import make_workdir, write_python_support
from . import daemon
from .hygiene import WORKDIR_PREFIX, LabelledContainers
from .images import ImagePolicy
from .streams import OutputStream, read_logs, sample_stats

BINARY_PATH = "/_abaco_binary_data"
SUPPORT_PATH = "/_abaco_emulator"
RESULTS_PATH = "/_abaco_results.sock"
# How long a running execution may go without a sign of the daemon before it is pinged.
_LIVENESS_INTERVAL = 5.0


@dataclass
class _Running:
    """One execution in progress: its container and why (if at all) it was cut short."""

    container: Any = None
    stream: OutputStream | None = None
    stopped: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)


class DockerRunner(Runner):
    """Runs each execution as a fresh, labelled container through the Docker SDK."""

    name = "docker"
    connect = staticmethod(daemon.connect)

    def __init__(self, *, pull: str = "never", uid: int | None = None, network_mode: str = "host",
                 client: Any = None, timeout: float = 30.0, advice: Advice = PYTHON) -> None:
        if pull not in PULL_POLICIES:
            raise ValueError(f"pull must be one of {', '.join(PULL_POLICIES)}, not {pull!r}")
        self.pull = pull
        self.uid = uid
        self.network_mode = network_mode
        self.timeout = timeout
        self.advice = advice
        self.instance = uuid.uuid4().hex
        self._owns_client = client is None
        if client is None:
            client = daemon.connect(timeout, advice)
        else:
            daemon.ping(client, advice)
        self._client = client
        self._running: dict[str, _Running] = {}
        self._stop_requested: set[str] = set()  # force-quits that came before their run()
        self._lock = threading.Lock()
        self._closed = False
        self._images = ImagePolicy(client, pull, advice)
        self._support_dir: str | None = None
        self._containers = LabelledContainers(self, client, self.instance)

    @property
    def client(self) -> Any:
        return self._client

    @property
    def location(self) -> str:
        return daemon.address(self._client)

    def prepare(self, image: str) -> None:
        self._images.prepare(image)

    def _pythonpath(self, spec: ExecutionSpec) -> str:
        """The support directory first, then the PYTHONPATH the actor would have had."""
        own = spec.environment.get("PYTHONPATH")
        if own is None:
            own = self._images.pythonpath(spec.image)
        return f"{SUPPORT_PATH}:{own}" if own else SUPPORT_PATH

    def _support(self) -> str:
        """The host directory mounted at SUPPORT_PATH (made once per runner)."""
        with self._lock:
            if self._support_dir is None:
                self._support_dir = write_python_support(make_workdir(WORKDIR_PREFIX))
            return self._support_dir

    def run(self, spec: ExecutionSpec) -> RunOutcome:
        running = _Running()
        with self._lock:
            if self._closed:
                raise RunnerFailure("the Docker runner is closed")
            self._running[spec.execution_id] = running
            if spec.execution_id in self._stop_requested:
                self._stop_requested.discard(spec.execution_id)
                running.stopped.set()
        workdir = make_workdir(WORKDIR_PREFIX)
        log = spec.log
        receiver: ResultsReceiver | None = None
        try:
            receiver = ResultsReceiver(os.path.join(workdir, "results.sock"), log)
            return self._run(spec, running, workdir, receiver, log)
        except (RunnerFailure, ImageUnavailable):
            raise
        except Exception as exc:
            import docker.errors

            if running.container is None and not isinstance(exc, docker.errors.DockerException):
                # The daemon did not answer before anything ran: the message can wait.
                raise RunnerUnavailable(f"the Docker engine does not answer ({type(exc).__name__}: {exc}). "
                                        f"{daemon.how_to_start_docker(self.advice)}") from exc
            raise RunnerFailure(self._failure(spec, exc), logs=log.text()) from exc
        finally:
            running.ended.set()  # ends the helper threads also when the run failed half-way
            if running.stream is not None:
                running.stream.close()
            if receiver is not None:
                receiver.close()
            if running.container is not None:
                self._containers.remove(running.container)
            shutil.rmtree(workdir, ignore_errors=True)
            with self._lock:
                self._running.pop(spec.execution_id, None)

    def _failure(self, spec: ExecutionSpec, exc: Exception) -> str:
        import docker.errors
        if isinstance(exc, docker.errors.ImageNotFound):
            return f"image {spec.image} is not present in the local Docker engine: {exc}"
        if isinstance(exc, docker.errors.APIError):
            return f"the Docker engine refused to run image {spec.image}: {exc}"
        return (f"the Docker engine stopped answering while execution {spec.execution_id} ran "
                f"({type(exc).__name__}: {exc})")

    def _run(self, spec: ExecutionSpec, running: _Running, workdir: str,
             receiver: ResultsReceiver, log: LogBuffer) -> RunOutcome:
        volumes = self._volumes(spec)
        # Results: a datagram socket bound on the host, mounted into the container.
        volumes[receiver.path] = {"bind": RESULTS_PATH, "mode": "rw"}
        if spec.binary is not None:
            # A regular file, not a FIFO as in the real Abaco: agavepy's
            # get_binary_message() opens the path non-blocking and reads until a read
            # returns nothing, so it races a FIFO's writer and was measured reading 0 bytes
            # of a 1 MiB message. A read-only file is read whole by agavepy and by `cat`.
            binary_path = os.path.join(workdir, "binary_data")
            with open(binary_path, "wb") as handle:
                handle.write(spec.binary)
            os.chmod(binary_path, 0o644)
            volumes[binary_path] = {"bind": BINARY_PATH, "mode": "ro"}

        container = self._containers.create(spec.image, spec.execution_id, spec.actor_id,
                                            **self._create_options(spec, volumes))
        running.container = container
        # Attached before it starts, so no output is lost at the start; the stream ends
        # once the container's output is closed, so none is lost at the end either.
        stream = running.stream = OutputStream(self._client.api, container.id)
        stats: dict[str, int] = {"cpu": 0, "io": 0}
        threads = [
            threading.Thread(target=read_logs, args=(stream, log, running.ended),
                             name=f"abaco-logs-{spec.execution_id}", daemon=True),
        ]
        if running.stopped.is_set():  # force-quit before it started
            return self._outcome(container, running, log, receiver, stats, spec.clock.stamp(), time.monotonic(),
                                 clock=spec.clock, threads=[], stream=stream, exit_code=KILLED_EXIT_CODE,
                                 reason="execution force-quit before its container started.")
        started, begin = spec.clock.stamp(), time.monotonic()
        deadline = Deadline(spec.max_run_time)  # the run time counts, like runtime, from the start
        container.start()
        receiver.start(f"abaco-results-{spec.execution_id}")
        threads.append(threading.Thread(target=sample_stats,
                                        args=(self._client.api, container, stats, running.ended),
                                        name=f"abaco-stats-{spec.execution_id}", daemon=True))
        for thread in threads:
            thread.start()
        reason = self._wait(spec, running, deadline)
        if reason:
            self._kill(container)
        return self._outcome(container, running, log, receiver, stats, started, begin, clock=spec.clock,
                             threads=threads, stream=stream, reason=reason)

    def _create_options(self, spec: ExecutionSpec, volumes: dict[str, dict[str, str]]) -> dict[str, Any]:
        volumes[self._support()] = {"bind": SUPPORT_PATH, "mode": "ro"}
        options: dict[str, Any] = {
            "environment": {**spec.environment, "PYTHONPATH": self._pythonpath(spec)},
            "name": f"abaco_{spec.actor_id}_{spec.execution_id}_{self.instance[:8]}",
            "network_mode": self.network_mode,
            "volumes": volumes,
            "privileged": bool(spec.privileged),
            "detach": True,
        }
        if not spec.use_container_uid and self.uid is not None:
            options["user"] = str(self.uid)
        if spec.mem_limit:
            options["mem_limit"] = spec.mem_limit
        if spec.max_cpus:
            options["nano_cpus"] = self._nano_cpus(spec.max_cpus)
        return options

    def _nano_cpus(self, max_cpus: int | float) -> int:
        """Abaco's maxCpus is in nano-CPUs (10**9 = one CPU); small values are read as CPUs.

        Capped at the engine's CPU count, which Docker would otherwise refuse.
        """
        value = float(max_cpus)
        nano = int(value if value >= 1_000_000 else value * 1e9)
        try:
            available = int(self._client.info().get("NCPU") or 0) * 10**9
        except Exception:
            available = 0
        return min(nano, available) if available else nano

    @staticmethod
    def _volumes(spec: ExecutionSpec) -> dict[str, dict[str, str]]:
        volumes: dict[str, dict[str, str]] = {}
        for mount in spec.mounts or ():
            host = mount.get("hostPath") or mount.get("host_path")
            target = mount.get("containerPath") or mount.get("container_path")
            if not host or not target:
                raise RunnerFailure(f"mount {mount!r} needs hostPath and containerPath")
            mode = str(mount.get("mode") or "ro").lower()
            volumes[str(host)] = {"bind": str(target), "mode": "rw" if mode == "rw" else "ro"}
        return volumes

    def _wait(self, spec: ExecutionSpec, running: _Running, deadline: Deadline) -> str:
        """Wait for the container to end; the reason it must be killed, or "" if it ended."""
        quiet = Deadline(_LIVENESS_INTERVAL)
        while not running.ended.is_set():
            if running.stopped.is_set():
                return "execution force-quit."
            if deadline.expired:
                return f"execution stopped after its maximum run time of {spec.max_run_time:g} s."
            if quiet.expired:
                self._client.ping()  # raises (within the client timeout) when the daemon is gone
                quiet = Deadline(_LIVENESS_INTERVAL)
            running.ended.wait(deadline.step(0.5))
        # stop() kills the container itself, so it may have ended because it was stopped.
        return "execution force-quit." if running.stopped.is_set() else ""

    def _outcome(self, container: Any, running: _Running, log: LogBuffer, receiver: ResultsReceiver,
                 stats: dict[str, int], started: str, begin: float, *, clock: Clock, threads: list[threading.Thread],
                 stream: OutputStream, reason: str = "", exit_code: int | None = None) -> RunOutcome:
        """Collect what an ended (or killed) container left; output first, then why it was cut."""
        if exit_code is None:
            status = container.wait(timeout=self.timeout)
            exit_code = int(status.get("StatusCode", -1))
        runtime = int(time.monotonic() - begin)
        finished = clock.stamp()
        running.ended.set()
        results = receiver.finish(self.timeout)
        for thread in threads:
            thread.join(self.timeout)
        try:
            stream.close()
        except Exception:
            pass
        if reason:
            log.write(f"\nabaco-emulator: {reason}\n")
        container.reload()
        state = dict(container.attrs.get("State") or {})
        if exit_code == -1 and "ExitCode" in state:
            exit_code = int(state["ExitCode"])
        return RunOutcome(exit_code=exit_code, logs=log.text(), results=results,
                          start_time=started, finish_time=finished, runtime=runtime,
                          cpu=stats["cpu"], io=stats["io"], final_state=state)

    def _kill(self, container: Any) -> None:
        try:
            container.kill()
        except Exception:
            pass  # already ended

    def stop(self, execution_id: str) -> None:
        with self._lock:
            running = self._running.get(execution_id)
        if running is None:
            with self._lock:
                if execution_id not in self._running:
                    self._stop_requested.add(execution_id)
                    return
                running = self._running[execution_id]
        running.stopped.set()
        if running.container is not None:
            self._kill(running.container)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            running = list(self._running.values())
        for item in running:
            item.stopped.set()
            if item.container is not None:
                self._kill(item.container)
        self._containers.close()
        if self._support_dir is not None:
            shutil.rmtree(self._support_dir, ignore_errors=True)
        if self._owns_client:
            try:
                self._client.close()
            except Exception:
                pass
