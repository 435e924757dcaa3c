"""The Docker runner: every execution is a fresh container of the actor's image.

It honours Abaco's container contract (ABACO_REFERENCE.md section 4) through the
Docker SDK (never the docker CLI):

- the environment of the execution, as the engine built it;
- a binary message as a read-only regular file at `/_abaco_binary_data`;
- results as datagrams on a Unix socket bound on the host and mounted at
  `/_abaco_results.sock`, one datagram one result, in order;
- stdout and stderr, interleaved as written, as the execution's log;
- `runtime`, `cpu`, `io`, the exit code and Docker's `State` as its statistics;
- a read-only directory at `/_abaco_emulator` on the container's PYTHONPATH whose
  `sitecustomize` patches agavepy when the actor imports it, so that an actor calling
  back (`get_client()`, `update_state()`) reaches the emulator's plain-HTTP server.

Containers carry labels naming the emulator instance, process and execution, so
that they are removed after each execution, swept on `close()` and at interpreter
exit, and removed at the next start when the process that made them died.
"""
from __future__ import annotations

import codecs
import os
import shutil
import socket
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Any, Iterator

from ..errors import DockerUnavailable, ImageUnavailable, RunnerFailure, RunnerUnavailable
from ..models import now
from .base import KILLED_EXIT_CODE, ExecutionSpec, RunOutcome, Runner
from .output import LogBuffer, ResultsReceiver
from .workdirs import make_workdir, process_alive, process_start, sweep_dead_workdirs, write_python_support

LABEL_PREFIX = "abaco-emulator"
LABEL_INSTANCE = f"{LABEL_PREFIX}.instance"
LABEL_PID = f"{LABEL_PREFIX}.pid"
LABEL_PID_START = f"{LABEL_PREFIX}.pid-start"
LABEL_HOST = f"{LABEL_PREFIX}.host"
LABEL_EXECUTION = f"{LABEL_PREFIX}.execution"
LABEL_ACTOR = f"{LABEL_PREFIX}.actor"

BINARY_PATH = "/_abaco_binary_data"
SUPPORT_PATH = "/_abaco_emulator"
RESULTS_PATH = "/_abaco_results.sock"
PULL_POLICIES = ("never", "missing", "always")
HOW_TO_START_DOCKER = (
    "Start a Docker engine: as root run `dockerd --bridge=none --iptables=false --ip6tables=false &` "
    "(Debian package docker.io), or start Docker Desktop; set DOCKER_HOST if it listens elsewhere. "
    "Without Docker, use AbacoEmulator(runner='local').")
# How long a running execution may go without a sign of the daemon before it is pinged.
_LIVENESS_INTERVAL = 5.0
_WORKDIR_PREFIX = "abaco-docker-"
_MAX_PENDING_LINE = 1 << 16  # a longer line without a newline is logged in pieces
_FIRST_STATS_DELAY = 0.2


def _address(client: Any) -> str:
    """Where a client talks to its daemon, as a user would write it."""
    api = getattr(client, "api", None)
    path = getattr(getattr(api, "_custom_adapter", None), "socket_path", None)
    if path:
        return f"unix://{path}"
    return str(getattr(api, "base_url", None) or "the configured address")


def _remove_labelled(client: Any, label: str) -> int:
    """Force-remove every container carrying `label`; what cannot be removed is left."""
    removed = 0
    try:
        containers = client.containers.list(all=True, filters={"label": label}, ignore_removed=True)
    except Exception:
        return 0
    for container in containers:
        try:
            container.remove(force=True)
            removed += 1
        except Exception:
            pass
    return removed


_docker_problems: list[str | None] = []
_swept_by: set[int] = set()  # processes whose first runner swept what dead processes left


def docker_problem() -> str | None:
    """Why no Docker engine can be used here, or None when one answers (asked once per process)."""
    if not _docker_problems:
        try:
            DockerRunner.connect(5.0).close()
            _docker_problems.append(None)
        except DockerUnavailable as exc:
            _docker_problems.append(str(exc))
    return _docker_problems[0]


class _OutputStream:
    """A container's stdout and stderr, attached to before it starts, as (out, err) chunks.

    The SDK's own `attach(stream=True)` leaves its socket to the garbage collector once
    the stream has ended (a ResourceWarning per execution); this one closes it, and it
    waits for output as long as the container runs, whatever the client's timeout.
    """

    def __init__(self, api: Any, container_id: str) -> None:
        self._socket = api.attach_socket(container_id, params={"stdout": 1, "stderr": 1, "stream": 1, "logs": 0})
        for item in (self._socket, getattr(self._socket, "_sock", None)):
            if hasattr(item, "settimeout"):
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


@dataclass
class _Running:
    """One execution in progress: its container and why (if at all) it was cut short."""

    container: Any = None
    stream: "_OutputStream | None" = None
    stopped: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)


class DockerRunner(Runner):
    """Runs each execution as a fresh, labelled container through the Docker SDK."""

    name = "docker"

    def __init__(self, *, pull: str = "never", uid: int | None = None, network_mode: str = "host",
                 client: Any = None, timeout: float = 30.0) -> None:
        if pull not in PULL_POLICIES:
            raise ValueError(f"pull must be one of {', '.join(PULL_POLICIES)}, not {pull!r}")
        self.pull = pull
        self.uid = uid
        self.network_mode = network_mode
        self.timeout = timeout
        self.instance = uuid.uuid4().hex
        self._pid = os.getpid()
        self._host = socket.gethostname()
        self._owns_client = client is None
        if client is None:
            client = self.connect(timeout)
        else:
            self._ping(client)
        self._client = client
        self._running: dict[str, _Running] = {}
        self._stop_requested: set[str] = set()  # force-quits that came before their run()
        self._lock = threading.Lock()
        self._closed = False
        self._image_env: dict[str, list[str]] = {}
        self._unremoved: dict[str, Any] = {}
        self._support_dir: str | None = None
        self._created_any = False  # no container made: nothing to sweep at close
        if os.getpid() not in _swept_by:  # what died before this process started: once is enough
            _swept_by.add(os.getpid())
            self.sweep_dead()
        # At interpreter exit (or when the runner is garbage), its containers go too.
        self._finalizer = weakref.finalize(self, _remove_labelled, self._client,
                                           f"{LABEL_INSTANCE}={self.instance}")

    # -- the daemon ------------------------------------------------------------------
    @staticmethod
    def connect(timeout: float = 30.0) -> Any:
        """A Docker SDK client of the engine (DOCKER_HOST or the local socket), pinged."""
        client = DockerRunner._connect(timeout)
        try:
            DockerRunner._ping(client)
        except DockerUnavailable:
            client.close()
            raise
        return client

    @staticmethod
    def _connect(timeout: float) -> Any:
        try:
            import docker
        except ImportError as exc:  # a declared dependency, but say so clearly
            raise DockerUnavailable(f"the Docker SDK is not installed (pip install docker): {exc}") from exc
        try:
            # Every request of the client times out: a daemon that stops answering
            # fails an execution instead of hanging it.
            return docker.from_env(timeout=timeout, max_pool_size=64)
        except Exception as exc:
            where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
            raise DockerUnavailable(f"no Docker engine answers at {where} ({exc}). {HOW_TO_START_DOCKER}") from exc

    @staticmethod
    def _ping(client: Any) -> None:
        try:
            client.ping()
        except Exception as exc:
            raise DockerUnavailable(f"no Docker engine answers at {_address(client)} ({type(exc).__name__}: {exc}). "
                                    f"{HOW_TO_START_DOCKER}") from exc

    @property
    def client(self) -> Any:
        return self._client

    def sweep_dead(self) -> int:
        """Remove containers (and temp dirs) left on this host by emulator processes that died."""
        sweep_dead_workdirs(_WORKDIR_PREFIX)
        try:
            containers = self._client.containers.list(all=True, filters={"label": LABEL_PID},
                                                      ignore_removed=True)
        except Exception:
            return 0
        removed = 0
        for container in containers:
            labels = container.labels or {}
            if labels.get(LABEL_HOST, self._host) != self._host:
                continue
            try:
                pid = int(labels.get(LABEL_PID, ""))
            except ValueError:
                continue
            if process_alive(pid, labels.get(LABEL_PID_START, "")):
                continue
            try:
                container.remove(force=True)
                removed += 1
            except Exception:
                pass
        return removed

    # -- images ----------------------------------------------------------------------
    def prepare(self, image: str) -> None:
        import docker.errors
        try:
            if self.pull == "always":
                self._pull(image)
                return
            try:
                self._remember_image(image, self._client.images.get(image))
                return
            except docker.errors.ImageNotFound:
                pass
            if self.pull == "missing":
                self._pull(image)
                return
        except ImageUnavailable:
            raise
        except Exception as exc:
            raise DockerUnavailable(f"the Docker engine could not be asked about image {image}: "
                                    f"{type(exc).__name__}: {exc}") from exc
        raise ImageUnavailable(
            f"Image {image} is not present in the local Docker engine and the emulator does not pull "
            f"images (pull='never'). Build it (docker build -t {image} ...) or load it "
            f"(docker load -i image.tar), or create the emulator with pull='missing'; then update the actor.")

    def _remember_image(self, image: str, found: Any) -> None:
        """Keep the image's own environment (its PYTHONPATH is composed with ours)."""
        self._image_env[image] = list((found.attrs.get("Config") or {}).get("Env") or [])

    def _pythonpath(self, spec: ExecutionSpec) -> str:
        """The support directory first, then the PYTHONPATH the actor would have had."""
        own = spec.environment.get("PYTHONPATH")
        if own is None:
            if spec.image not in self._image_env:
                try:
                    self._remember_image(spec.image, self._client.images.get(spec.image))
                except Exception:
                    self._image_env[spec.image] = []  # create() will say what is wrong with the image
            own = next((item.split("=", 1)[1] for item in self._image_env[spec.image]
                        if item.startswith("PYTHONPATH=")), "")
        return f"{SUPPORT_PATH}:{own}" if own else SUPPORT_PATH

    def _support(self) -> str:
        """The host directory mounted at SUPPORT_PATH (made once per runner)."""
        with self._lock:
            if self._support_dir is None:
                self._support_dir = write_python_support(make_workdir(_WORKDIR_PREFIX))
            return self._support_dir

    def _pull(self, image: str) -> None:
        from docker.utils import parse_repository_tag
        repository, tag = parse_repository_tag(image)
        try:
            self._client.images.pull(repository, tag=tag or "latest")
        except Exception as exc:
            raise ImageUnavailable(f"Image {image} could not be pulled (pull={self.pull!r}): "
                                   f"{type(exc).__name__}: {exc}. Build or load it locally "
                                   f"(docker build -t {image} ... / docker load) and update the actor.") from exc

    # -- executions ------------------------------------------------------------------
    def run(self, spec: ExecutionSpec) -> RunOutcome:
        running = _Running()
        with self._lock:
            if self._closed:
                raise RunnerFailure("the Docker runner is closed")
            self._running[spec.execution_id] = running
            if spec.execution_id in self._stop_requested:
                self._stop_requested.discard(spec.execution_id)
                running.stopped.set()
        workdir = make_workdir(_WORKDIR_PREFIX)
        os.chmod(workdir, 0o755)
        log = LogBuffer()
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
                                        f"{HOW_TO_START_DOCKER}") from exc
            raise RunnerFailure(self._failure(spec, exc), logs=log.text()) from exc
        finally:
            running.ended.set()  # ends the helper threads also when the run failed half-way
            if running.stream is not None:
                running.stream.close()
            if receiver is not None:
                receiver.close()
            if running.container is not None:
                self._remove(running.container)
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

        self._created_any = True
        container = self._client.containers.create(spec.image, **self._create_options(spec, volumes))
        running.container = container
        # Attached before it starts, so no output is lost at the start; the stream ends
        # once the container's output is closed, so none is lost at the end either.
        stream = running.stream = _OutputStream(self._client.api, container.id)
        stats: dict[str, int] = {"cpu": 0, "io": 0}
        threads = [
            threading.Thread(target=self._read_logs, args=(stream, log, running),
                             name=f"abaco-logs-{spec.execution_id}", daemon=True),
        ]
        if running.stopped.is_set():  # force-quit before it started
            return self._outcome(container, running, log, receiver, stats, now(), time.monotonic(),
                                 threads=[], stream=stream, exit_code=KILLED_EXIT_CODE,
                                 reason="execution force-quit before its container started.")
        started, begin = now(), time.monotonic()
        container.start()
        receiver.start(f"abaco-results-{spec.execution_id}")
        threads.append(threading.Thread(target=self._sample_stats, args=(container, stats, running),
                                        name=f"abaco-stats-{spec.execution_id}", daemon=True))
        for thread in threads:
            thread.start()
        reason = self._wait(spec, running, begin)
        if reason:
            self._kill(container)
        return self._outcome(container, running, log, receiver, stats, started, begin, threads=threads,
                             stream=stream, reason=reason)

    def _create_options(self, spec: ExecutionSpec, volumes: dict[str, dict[str, str]]) -> dict[str, Any]:
        volumes[self._support()] = {"bind": SUPPORT_PATH, "mode": "ro"}
        options: dict[str, Any] = {
            "environment": {**spec.environment, "PYTHONPATH": self._pythonpath(spec)},
            "labels": {
                LABEL_INSTANCE: self.instance, LABEL_PID: str(self._pid),
                LABEL_PID_START: process_start(self._pid), LABEL_HOST: self._host,
                LABEL_EXECUTION: spec.execution_id, LABEL_ACTOR: spec.actor_id,
            },
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

    def _wait(self, spec: ExecutionSpec, running: _Running, begin: float) -> str:
        """Wait for the container to end; the reason it must be killed, or "" if it ended."""
        deadline = None if spec.max_run_time is None else begin + spec.max_run_time
        quiet_since = time.monotonic()
        while not running.ended.is_set():
            if running.stopped.is_set():
                return "execution force-quit."
            moment = time.monotonic()
            if deadline is not None and moment >= deadline:
                return f"execution stopped after its maximum run time of {spec.max_run_time:g} s."
            if moment - quiet_since >= _LIVENESS_INTERVAL:
                self._client.ping()  # raises (within the client timeout) when the daemon is gone
                quiet_since = time.monotonic()
            wait = 0.5 if deadline is None else min(0.5, max(0.0, deadline - moment))
            running.ended.wait(wait)
        # stop() kills the container itself, so it may have ended because it was stopped.
        return "execution force-quit." if running.stopped.is_set() else ""

    def _outcome(self, container: Any, running: _Running, log: LogBuffer, receiver: ResultsReceiver,
                 stats: dict[str, int], started: str, begin: float, *, threads: list[threading.Thread],
                 stream: Any, reason: str = "", exit_code: int | None = None) -> RunOutcome:
        """Collect what an ended (or killed) container left; output first, then why it was cut."""
        if exit_code is None:
            status = container.wait(timeout=self.timeout)
            exit_code = int(status.get("StatusCode", -1))
        runtime = int(time.monotonic() - begin)
        finished = now()
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

    @staticmethod
    def _read_logs(stream: Any, log: LogBuffer, running: _Running) -> None:
        """Copy stdout+stderr into the log, whole lines at a time.

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
            running.ended.set()

    def _sample_stats(self, container: Any, stats: dict[str, int], running: _Running) -> None:
        """Keep the latest CPU time and bytes received, sampled while the container runs.

        Docker has no statistics for a container that ended, so the last sample stands
        (Abaco sampled the same way). One-shot samples answer at once; a streamed or
        two-sample read would hold the execution up to a second after it ended.
        """
        api = self._client.api
        one_shot: bool | None = True
        # The first sample waits a little: a container that ends at once has nothing to
        # show, and the engine runs it faster without a stats request beside it.
        if running.ended.wait(_FIRST_STATS_DELAY):
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
            if running.ended.wait(0.5):
                return

    def _kill(self, container: Any) -> None:
        try:
            container.kill()
        except Exception:
            pass  # already ended

    def _remove(self, container: Any) -> None:
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
            self._remove(leftover)

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
        if self._created_any:
            self._finalizer()
        else:
            self._finalizer.detach()
        if self._support_dir is not None:
            shutil.rmtree(self._support_dir, ignore_errors=True)
        if self._owns_client:
            try:
                self._client.close()
            except Exception:
                pass
