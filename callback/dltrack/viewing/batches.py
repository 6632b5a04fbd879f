"""The per-batch loss of a whole training, bounded: what the widget's per-batch curve draws.

A training sends up to ~10 progress messages a second; over hours that is far more points
than a chart can show or a widget trait should carry. `BatchSeries` keeps at most
`MAX_POINTS` of them with the same density over the whole run: samples are grouped into
buckets of `stride` samples and each bucket keeps its lowest and highest loss (so a
divergence spike survives). When the points overflow, every four stored points (two
buckets) become two (one bucket twice as wide) and the stride doubles. Pure, like the reducer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_POINTS = 1000

# (epoch position, global step, seconds since the training started, loss). The epoch position
# is the 0-based epoch plus the fraction of it done (None when its step count is unknown), so
# the end of epoch 0 is 1.0, where the chart also draws epoch 0's own record ("epoch 1").
Point = tuple[float | None, int, float, float]


@dataclass(frozen=True)
class BatchSeries:
    points: tuple[Point, ...] = ()  # emitted extremes, in step order
    pending: tuple[Point, ...] = ()  # the bucket being filled
    stride: int = 1  # samples per bucket


def _extremes(bucket: tuple[Point, ...]) -> tuple[Point, ...]:
    """The bucket's lowest and highest loss, in step order (one point if they are the same)."""
    low = min(bucket, key=lambda p: p[3])
    high = max(bucket, key=lambda p: p[3])
    if low is high:
        return (low,)
    return (low, high) if low[1] <= high[1] else (high, low)


def _compact(points: tuple[Point, ...]) -> tuple[Point, ...]:
    out: list[Point] = []
    for i in range(0, len(points), 4):
        out.extend(_extremes(points[i : i + 4]))
    return tuple(out)


def add(series: BatchSeries, point: Point) -> BatchSeries:
    """`series` with one more sample (a later step than every sample before)."""
    pending = (*series.pending, point)
    if len(pending) < series.stride:
        return BatchSeries(series.points, pending, series.stride)
    points = series.points + _extremes(pending)
    stride = series.stride
    if len(points) > MAX_POINTS:
        points = _compact(points)
        # Four points held one sample each at stride 1, two buckets' extremes after that.
        stride = 4 if stride == 1 else stride * 2
    return BatchSeries(points, (), stride)


def to_json(series: BatchSeries) -> dict[str, list[Any]] | None:
    """Columns for the widget state (docs/widget-state.md), or None when there is no sample."""
    tail: tuple[Point, ...] = ()
    if series.pending:
        # The bucket being filled, with its latest sample: the live end of the curve.
        tail = _extremes(series.pending)
        if tail[-1] is not series.pending[-1]:
            tail = (*tail, series.pending[-1])
    points = series.points + tail
    if not points:
        return None
    return {
        "epoch": [None if p[0] is None else round(p[0], 4) for p in points],
        "step": [p[1] for p in points],
        "time": [round(p[2], 2) for p in points],
        "loss": [float(f"{p[3]:.5g}") for p in points],
    }
