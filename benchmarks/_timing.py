"""Shared summaries for the benchmark scripts (min / median / max, ratios of medians)."""

from __future__ import annotations

import statistics


def summary(times: list[float]) -> str:
    """``min / median / max`` in seconds, fixed width."""
    return f"{min(times):7.3f} / {statistics.median(times):7.3f} / {max(times):7.3f}"


def ratio(numerator: list[float], denominator: list[float]) -> float:
    """Ratio of medians (robust to one noisy run on a shared machine)."""
    return statistics.median(numerator) / statistics.median(denominator)
