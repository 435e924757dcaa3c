"""The local runner: actors whose "image" is a Python callable or a command, no Docker.

`AbacoEmulator.register_image(image, handler)` or `register_image(image, command=[...])`
tells this runner what an image name means. A handler gets a context (`ctx`) holding
what agavepy's `get_context()` gives inside a real container, plus `ctx.binary`,
`ctx.send_result(bytes)` and `ctx.update_state(value)`; what it prints is its log, a
returned bytes/str is one more result, an exception is exit code 1 with the traceback
in the log. A command runs as a subprocess with the contract's environment; a binary
message arrives on its standard input and in the file named by
`ABACO_EMULATOR_BINARY_DATA`; it may send results as datagrams to the Unix socket
named by `ABACO_EMULATOR_RESULTS_SOCKET`. A Python command finds a sitecustomize first
on its PYTHONPATH that points agavepy's helpers (`get_binary_message`,
`send_bytes_result`, `get_client`) at these and at the emulator, so an actor script
written for a container runs here unchanged.
"""
from __future__ import annotations

import ast
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from io import BufferedIOBase
from typing import IO, Any, Callable, Sequence, cast

from ..agave import BINARY_DATA_VARIABLE, RESULTS_SOCKET_VARIABLE
from ..advice import PYTHON, Advice
from ..attrdict import AttrDict
from ..errors import ImageUnavailable, RunnerFailure
from ..waiting import Deadline
from ..parsing import AST_LOCK
from .base import KILLED_EXIT_CODE, ExecutionSpec, RunOutcome, Runner
from .output import LogBuffer, Results, ResultsReceiver
from .workdirs import make_workdir, sweep_dead_workdirs, write_python_support

_WORKDIR_PREFIX = "abaco-local-"


class _OutputRouter:
    """Sends what each handler thread prints to that execution's log.

    Installed over sys.stdout/sys.stderr while handlers run (so several executions
    running at once each get their own output) and removed when none runs.
    """

    _lock = threading.Lock()
    _sinks: dict[int, LogBuffer] = {}
    _saved: tuple[Any, Any] | None = None
    # The router of each stream ever wrapped, reused and never freed: CPython 3.11's
    # print() holds sys.stdout by a borrowed reference, so a router freed when detach()
    # puts the stream back, while another thread prints through it, crashed the process.
    _made: dict[int, tuple[Any, "_OutputRouter"]] = {}

    def __init__(self, fallback: Any) -> None:
        self._fallback = fallback

    def write(self, text: str) -> int:
        sink = self._sinks.get(threading.get_ident())
        if sink is not None:
            return sink.write(text)
        return self._fallback.write(text)

    def flush(self) -> None:
        if threading.get_ident() not in self._sinks:
            self._fallback.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fallback, name)

    @classmethod
    def attach(cls, sink: LogBuffer) -> None:
        with cls._lock:
            if not cls._sinks or not isinstance(sys.stdout, cls):
                cls._saved = (sys.stdout, sys.stderr)
                sys.stdout, sys.stderr = cls._router_of(sys.stdout), cls._router_of(sys.stderr)
            cls._sinks[threading.get_ident()] = sink

    @classmethod
    def _router_of(cls, stream: Any) -> "_OutputRouter":
        """The one router over `stream` (kept with it, so its id names no other)."""
        made = cls._made.get(id(stream))
        if made is None:
            made = cls._made[id(stream)] = (stream, cls(stream))
        return made[1]

    @classmethod
    def detach(cls, thread_id: int) -> None:
        with cls._lock:
            cls._sinks.pop(thread_id, None)
            if not cls._sinks and cls._saved is not None and isinstance(sys.stdout, cls):
                sys.stdout, sys.stderr = cls._saved
                cls._saved = None


@dataclass
class _Image:
    """What a registered image runs: its handler, or else its command."""

    handler: Callable[[AttrDict], Any] | None = None
    command: Sequence[str] = ()


class _Running:
    """One execution in progress: how to stop it and whether it was stopped."""

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self.process: subprocess.Popen | None = None


def context_for(spec: ExecutionSpec, results: Results) -> AttrDict:
    """What a handler gets: agavepy's get_context() plus binary, results and state."""
    env = spec.environment
    ctx = AttrDict({
        "raw_message": env.get("MSG"),
        "content_type": env.get("_abaco_Content_Type"),
        "execution_id": env.get("_abaco_execution_id"),
        "username": env.get("_abaco_username"),
        "state": env.get("_abaco_actor_state"),
        "actor_dbid": env.get("_abaco_actor_dbid"),
        "actor_id": env.get("_abaco_actor_id"),
        "raw_message_parse_log": "",
        "message_dict": AttrDict(),
    })
    try:
        with AST_LOCK:
            parsed = ast.literal_eval(ctx["raw_message"])
        if isinstance(parsed, dict):
            ctx["message_dict"] = AttrDict(parsed)
    except Exception as exc:  # the same tolerance as agavepy's get_context()
        ctx["raw_message_parse_log"] = f"Error parsing message: {exc}"
    ctx.update(env)

    def send_result(value: bytes) -> None:
        if not isinstance(value, bytes):
            raise TypeError(f"send_result takes bytes, not {type(value).__name__}")
        results.keep(value)

    def update_state(value: Any) -> None:
        if spec.update_state is None:
            raise RuntimeError("this execution cannot update state")
        spec.update_state(value)

    ctx["binary"] = spec.binary
    ctx["send_result"] = send_result
    ctx["update_state"] = update_state
    return ctx


def final_state(exit_code: int, started: str, finished: str, error: str = "") -> dict[str, Any]:
    """A Docker-like `State` dict for executions that ran without Docker."""
    return {
        "Status": "exited", "Running": False, "Paused": False, "Restarting": False,
        "OOMKilled": False, "Dead": False, "Pid": 0, "ExitCode": exit_code,
        "Error": error, "StartedAt": started, "FinishedAt": finished,
    }


class LocalRunner(Runner):
    """Runs registered Python handlers in threads and commands as subprocesses."""

    name = "local"

    def __init__(self, advice: Advice = PYTHON) -> None:
        self.advice = advice
        self._images: dict[str, _Image] = {}
        self._running: dict[str, _Running] = {}
        self._stop_requested: set[str] = set()  # stopped before they started: they do not start
        self._lock = threading.Lock()
        sweep_dead_workdirs(_WORKDIR_PREFIX)

    def register(self, image: str, handler: Callable[[AttrDict], Any] | None = None,
                 command: Sequence[str] | None = None) -> None:
        if (handler is None) == (command is None):
            raise ValueError("register_image needs exactly one of handler or command")
        if handler is not None and not callable(handler):
            raise TypeError("handler must be callable")
        if command is not None and (isinstance(command, str) or not command):
            raise TypeError("command must be a non-empty list of strings")
        self._images[image] = _Image(handler, list(command or ()))

    def prepare(self, image: str) -> None:
        if image not in self._images:
            raise ImageUnavailable(
                f"Image {image} is not registered with the local runner: "
                f"{self.advice.say('register_image', image=image)} and update the actor.")

    def run(self, spec: ExecutionSpec) -> RunOutcome:
        image = self._images.get(spec.image)
        if image is None:
            raise RunnerFailure(f"image {spec.image} is not registered with the local runner")
        running = _Running()
        with self._lock:
            early = spec.execution_id in self._stop_requested
            self._stop_requested.discard(spec.execution_id)
            self._running[spec.execution_id] = running
        if early:  # force-quit (or stopped by a shutdown) on its way in
            with self._lock:
                self._running.pop(spec.execution_id, None)
            moment = spec.clock.stamp()
            spec.log.write("abaco-emulator: the execution was force-quit before it started.\n")
            return RunOutcome(exit_code=KILLED_EXIT_CODE, logs=spec.log.text(), results=[], start_time=moment,
                              finish_time=moment, runtime=0,
                              final_state=final_state(KILLED_EXIT_CODE, moment, moment))
        try:
            if image.handler is not None:
                return self._run_handler(image.handler, spec, running)
            return self._run_command(image.command, spec, running)
        finally:
            with self._lock:
                self._running.pop(spec.execution_id, None)

    def _run_handler(self, handler: Callable[[AttrDict], Any], spec: ExecutionSpec,
                     running: _Running) -> RunOutcome:
        log = spec.log
        results = Results(log)
        exit_code = [0]
        cpu = [0]
        done = threading.Event()

        def target() -> None:
            _OutputRouter.attach(log)
            begin = time.thread_time_ns()
            try:
                value = handler(context_for(spec, results))
                if isinstance(value, str):
                    value = value.encode("utf-8")
                if isinstance(value, bytes):
                    results.keep(value)
            except SystemExit as exc:
                exit_code[0] = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:  # the actor's own failure: exit code 1, traceback logged
                log.write(traceback.format_exc())
                exit_code[0] = 1
            finally:
                cpu[0] = time.thread_time_ns() - begin
                _OutputRouter.detach(threading.get_ident())
                done.set()

        started, begin = spec.clock.stamp(), time.monotonic()
        thread = threading.Thread(target=target, name=f"abaco-handler-{spec.execution_id}", daemon=True)
        thread.start()
        self._wait(done, running, spec.max_run_time)
        if not done.is_set():
            # A thread cannot be killed: the handler is abandoned and its later output dropped.
            _OutputRouter.detach(cast(int, thread.ident))  # started above, so it has one
            exit_code[0] = KILLED_EXIT_CODE
            log.write(self._stop_reason(running, spec))
        finished = spec.clock.stamp()
        return RunOutcome(exit_code=exit_code[0], logs=log.text(), results=list(results.items),
                          start_time=started, finish_time=finished,
                          runtime=int(time.monotonic() - begin), cpu=cpu[0], io=0,
                          final_state=final_state(exit_code[0], started, finished))

    def _run_command(self, command: Sequence[str], spec: ExecutionSpec, running: _Running) -> RunOutcome:
        log = spec.log
        workdir = make_workdir(_WORKDIR_PREFIX)
        receiver: ResultsReceiver | None = None
        try:
            receiver = ResultsReceiver(os.path.join(workdir, "results.sock"), log)
            env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "SYSTEMROOT") if key in os.environ}
            env.update(spec.environment)
            support = os.path.join(workdir, "python")
            os.mkdir(support)
            own = spec.environment.get("PYTHONPATH", os.environ.get("PYTHONPATH"))
            env["PYTHONPATH"] = os.pathsep.join([write_python_support(support)] + ([own] if own else []))
            env[RESULTS_SOCKET_VARIABLE] = receiver.path
            if spec.binary is not None:
                binary_path = os.path.join(workdir, "binary_data")
                with open(binary_path, "wb") as handle:
                    handle.write(spec.binary)
                env[BINARY_DATA_VARIABLE] = binary_path
            started, begin = spec.clock.stamp(), time.monotonic()
            try:
                process = subprocess.Popen(list(command), env=env, stdin=subprocess.PIPE,
                                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                           start_new_session=True)
            except OSError as exc:
                raise RunnerFailure(f"cannot start {command[0]!r} for image {spec.image}: {exc}") from exc
            running.process = process
            receiver.start(f"abaco-results-{spec.execution_id}")
            feeder = threading.Thread(target=self._feed, args=(process.stdin, spec.binary), daemon=True)
            reader = threading.Thread(target=self._drain, args=(process.stdout, log), daemon=True)
            feeder.start()
            reader.start()
            usage: list[Any] = []
            done = threading.Event()

            def reap() -> None:
                usage.append(os.wait4(process.pid, 0))
                done.set()

            threading.Thread(target=reap, daemon=True).start()
            self._wait(done, running, spec.max_run_time)
            if not done.is_set():
                log.write(self._stop_reason(running, spec))
            # As a container's processes end with its first one: a background child left
            # holding the output pipe would otherwise keep the execution waiting.
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            done.wait()
            reader.join()
            feeder.join()
            _, status, rusage = usage[0]
            process.returncode = os.waitstatus_to_exitcode(status)
            exit_code = process.returncode if process.returncode >= 0 else 128 - process.returncode
            results = receiver.finish()
            finished = spec.clock.stamp()
            cpu = int((rusage.ru_utime + rusage.ru_stime) * 1e9)
            return RunOutcome(exit_code=exit_code, logs=log.text(), results=results,
                              start_time=started, finish_time=finished,
                              runtime=int(time.monotonic() - begin), cpu=cpu, io=0,
                              final_state=final_state(exit_code, started, finished))
        finally:
            if receiver is not None:
                receiver.close()
            shutil.rmtree(workdir, ignore_errors=True)

    @staticmethod
    def _feed(stdin: IO[bytes], data: bytes | None) -> None:
        try:
            if data:
                stdin.write(data)
            stdin.close()
        except OSError:
            pass  # the command ended without reading its message

    @staticmethod
    def _drain(stdout: BufferedIOBase, log: LogBuffer) -> None:
        for chunk in iter(lambda: stdout.read1(65536), b""):
            log.write(chunk.decode("utf-8", errors="replace"))
        stdout.close()

    @staticmethod
    def _wait(done: threading.Event, running: _Running, limit: float | None) -> None:
        """Until the execution is done, force-quit, or past its `limit` in seconds."""
        deadline = Deadline(limit)
        while not done.is_set() and not running.stopped.is_set() and not deadline.expired:
            done.wait(deadline.step(0.05))

    @staticmethod
    def _stop_reason(running: _Running, spec: ExecutionSpec) -> str:
        if running.stopped.is_set():
            return "\nabaco-emulator: execution force-quit.\n"
        return f"\nabaco-emulator: execution stopped after its maximum run time of {spec.max_run_time} s.\n"

    def stop(self, execution_id: str) -> None:
        with self._lock:
            running = self._running.get(execution_id)
            if running is None:
                self._stop_requested.add(execution_id)
        if running is not None:
            running.stopped.set()

    def close(self) -> None:
        with self._lock:
            for running in self._running.values():
                running.stopped.set()
