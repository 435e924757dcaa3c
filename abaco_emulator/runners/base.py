"""The interface between the engine and the things that actually run an execution.

The engine knows runners only through what is here: a `Runner` is asked to prepare an
image and to run an `ExecutionSpec`, and answers with a `RunOutcome`. How a runner
collects output lives in `output.py`, its files on the host in `workdirs.py`.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable

from ..clock import Clock
from .output import LogBuffer

KILLED_EXIT_CODE = 137  # what Docker reports for a container killed with SIGKILL; every runner says the same


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
    # Where the runner writes the execution's output as it comes: the engine reads it while
    # the execution runs (live logs), and the outcome's logs are its text at the end.
    log: LogBuffer = field(default_factory=LogBuffer)
    # The emulator's clock: what the outcome's start and finish times are read from.
    clock: Clock = field(default_factory=Clock)


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


class Runner(ABC):
    """Runs executions; one instance serves every worker of an emulator."""

    name = "runner"

    @property
    def location(self) -> str:
        """Where it runs executions, as a worker record's `location` shows (Abaco: the Docker daemon's URL)."""
        return self.name

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
