"""Summaries that survive a noisy, shared machine: medians and spreads, never means."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linearly interpolated; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def spread(values: Sequence[float]) -> dict[str, Any]:
    """Median, quartiles (IQR) and range of a few repeated measurements."""
    return {
        "n": len(values),
        "median": statistics.median(values) if values else float("nan"),
        "q1": percentile(values, 25),
        "q3": percentile(values, 75),
        "min": min(values) if values else float("nan"),
        "max": max(values) if values else float("nan"),
    }


def tail(values: Sequence[float]) -> dict[str, Any]:
    """p50/p90/p99/max of many samples (latencies)."""
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values) if values else float("nan"),
    }
