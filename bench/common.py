"""What every figure shares: the result record, timers, and the figure registry."""
from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable


@dataclass
class Result:
    """One line of the table: a measured ratio or rate against its target."""

    figure: str
    value: float | None
    unit: str                      # "x" (ratio), "/s", "ms", "MB"
    target: str                    # e.g. "<= 1.5"
    passed: bool | None            # None when the figure could not be measured
    note: str = ""
    context: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def at_most(figure: str, value: float, limit: float, unit: str, **kw: Any) -> Result:
    return Result(figure, value, unit, f"<= {limit:g}{'' if unit == 'x' else ' ' + unit}", value <= limit, **kw)


def at_least(figure: str, value: float, limit: float, unit: str, **kw: Any) -> Result:
    return Result(figure, value, unit, f">= {limit:g}{'' if unit == 'x' else ' ' + unit}", value >= limit, **kw)


def unavailable(figure: str, target: str, reason: str) -> Result:
    return Result(figure, None, "", target, None, note=f"not available: {reason}")


def median_ms(samples_ns: list[int]) -> float:
    return statistics.median(samples_ns) / 1e6


def time_calls(call: Callable[[], Any], count: int) -> list[int]:
    """The latency of `count` calls, each timed on its own (nanoseconds)."""
    samples = []
    clock = time.perf_counter_ns
    for _ in range(count):
        begin = clock()
        call()
        samples.append(clock() - begin)
    return samples
