"""Shared timing helpers for the benchmark scripts (wall-clock, repeated, summarized)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def repeat(fn: Callable[[], object], repeats: int) -> list[float]:
    """Run ``fn`` ``repeats`` times and return the wall-clock seconds of each run."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def summary(times: list[float]) -> str:
    """``min / median / max`` in seconds, fixed width."""
    return f"{min(times):7.3f} / {statistics.median(times):7.3f} / {max(times):7.3f}"


def ratio(numerator: list[float], denominator: list[float]) -> float:
    """Ratio of medians (robust to one noisy run on a shared machine)."""
    return statistics.median(numerator) / statistics.median(denominator)
