"""Shared summaries for the benchmark scripts (min / median / max, ratios of medians)."""

from __future__ import annotations

import statistics


def summary(times: list[float], unit: str = "s") -> str:
    """``min / median / max`` in seconds (``unit="s"``) or milliseconds (``"ms"``), fixed width."""
    k = {"s": 1.0, "ms": 1e3}[unit]
    suffix = "" if unit == "s" else f" {unit}"  # seconds are the default of every table header
    return f"{min(times) * k:7.3f} / {statistics.median(times) * k:7.3f} / {max(times) * k:7.3f}{suffix}"


def ratio(numerator: list[float], denominator: list[float]) -> float:
    """Ratio of medians (robust to one noisy run on a shared machine)."""
    return statistics.median(numerator) / statistics.median(denominator)
