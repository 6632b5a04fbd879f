"""Pure text formatting for the terminal viewer: bars, durations, rates, metrics."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping
from typing import Any

BAR_WIDTH = 30
# How history reaches a viewer when all is well (docs/widget-state.md, `store_status`);
# `connecting` is the first moment of every viewer, not worth a line.
STORE_OK = frozenset({"connecting", "polling", "following"})


def duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "--:--"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def rate(steps_per_second: float | None) -> str:
    if not steps_per_second:
        return "?it/s"
    if steps_per_second >= 1:
        return f"{steps_per_second:.2f}it/s"
    return f"{1 / steps_per_second:.2f}s/it"


def number(value: float, digits: int = 4) -> str:
    """`value` to `digits` significant digits, trailing zeros dropped, as the widget's
    formatMetric writes it: 0.41, 0.8812, 1235, 1.2e-4, 1.235e+5. Keras logs float32, so
    0.001 arrives as 0.0010000000474974513; four digits show what was meant."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if value == 0:
        return "0"
    text = f"{value:.{digits}g}"
    if abs(value) >= 1e5 or abs(value) < 1e-3 or "e" in text:
        mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
        return f"{_trim(mantissa)}e{int(exponent):+d}"
    return _trim(text)


def _trim(fixed: str) -> str:
    return fixed.rstrip("0").rstrip(".") if "." in fixed else fixed


def metric(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return number(float(value))


def param(value: Any) -> str:
    """A parameter value: whole numbers as they are, fractions to 6 significant digits (more
    than a metric: a user's 0.00025 must survive, float32 noise from digit 8 on must not)."""
    if isinstance(value, float):
        return number(value, digits=6)
    if value is None:
        return "-"
    return value if isinstance(value, str) else json.dumps(value)


def order_metrics(names: Iterable[str]) -> list[str]:
    """The widget's order (js/metrics.js orderMetrics): `loss` first, then the others as Keras
    logged them, each followed by its `val_` twin; `val_` metrics without a twin last."""
    unique = list(dict.fromkeys(names))
    present = set(unique)
    train = [n for n in unique if not n.startswith("val_")]
    train.sort(key=lambda n: n != "loss")  # stable: only loss moves
    ordered: list[str] = []
    for name in train:
        ordered.append(name)
        if f"val_{name}" in present:
            ordered.append(f"val_{name}")
    return ordered + [n for n in unique if n.startswith("val_") and n[4:] not in present]


def with_markers(record: Mapping[str, Any]) -> dict[str, Any]:
    """An epoch record's logs with its NaN/inf metrics back in, as their markers ("nan"), so
    that a loss that became NaN is shown as such rather than missing."""
    return {**record["logs"], **(record.get("non_finite") or {})}


def logs(values: dict[str, Any], limit: int = 8) -> str:
    """`loss 0.41 · val_loss 0.5 · accuracy 0.88 · …`, in the widget's order."""
    names = order_metrics(values)
    return " · ".join(f"{n} {metric(values[n])}" for n in names[:limit])


def bar(step: int, steps: int | None, width: int = BAR_WIDTH) -> str:
    if not steps:
        # Unknown length (a generator): a bouncing block shows activity.
        pos = step % (2 * width - 2) if width > 1 else 0
        pos = pos if pos < width else 2 * width - 2 - pos
        return "░" * pos + "█" + "░" * (width - pos - 1)
    filled = min(width, int(width * step / steps))
    return "█" * filled + "░" * (width - filled)


def epoch_label(epoch: int, planned: int | None) -> str:
    """Epochs are 0-based in the data and shown 1-based, as Keras prints them."""
    return f"Epoch {epoch + 1}/{planned}" if planned else f"Epoch {epoch + 1}"


def bar_width(columns: int) -> int:
    """The bar's width for a terminal this wide: the metrics after it matter more."""
    return max(10, min(BAR_WIDTH, columns // 6))


def progress_line(training: dict[str, Any], now: float, width: int = BAR_WIDTH) -> str:
    current = training["current"]
    step, steps = current["step"], current["steps"]
    elapsed = now - current["epoch_started_at"]
    speed = current.get("rate")
    eta = (steps - step) / speed if steps and speed else None
    count = f"{step}/{steps}" if steps else f"{step}"
    # What a viewer can steer, where the eye already is: a pause and the learning rate.
    paused = training.get("paused_since")
    held = f"paused since {clock(paused)} ({duration(now - paused)}) " if paused else ""
    lr = training.get("lr")
    rate_now = f" · lr {metric(lr)}" if lr is not None else ""
    return (
        f"#{training['number'] or '?'} {epoch_label(current['epoch'], training['epochs_planned'])} "
        f"{bar(step, steps, width)} {count} [{duration(elapsed)}<{duration(eta)}, {rate(speed)}] "
        f"{held}{logs(current['logs'], limit=4)}{rate_now}"
    )


def clock(at: float) -> str:
    """A local time of day, as `12:03:44`."""
    return time.strftime("%H:%M:%S", time.localtime(at))


def epoch_line(training: dict[str, Any], record: dict[str, Any], width: int = BAR_WIDTH) -> str:
    steps = record.get("steps")
    took = None
    if record.get("started_at") and record.get("ended_at"):
        took = record["ended_at"] - record["started_at"]
    planned = (training.get("params") or {}).get("steps")
    if steps and planned and steps < planned:
        # Stopped part-way: show how far it got, as the widget does.
        count, filled = f"{steps}/{planned} (partial)", bar(steps, planned, width)
    else:
        count, filled = (f"{steps}/{steps}" if steps else "done"), bar(1, 1, width)
    return (
        f"#{training['number'] or '?'} {epoch_label(record['epoch'], training['epochs_planned'])} "
        f"{filled} {count} [{duration(took)}] {logs(with_markers(record))}"
    )


def training_summary(training: dict[str, Any], now: float) -> str:
    started = training.get("started_at")
    ended = training.get("ended_at") or now
    took = ended - started if started else None
    planned = training.get("epochs_planned") or "?"
    done = training["epochs_done"]
    text = (
        f"#{training['number'] or '?'} {training['status']:<11} {done}/{planned} "
        f"epochs  {duration(took)}  {logs(training['final_logs'], limit=4)}"
    )
    stop = training.get("stop")
    if training["status"] == "stopped" and stop:
        text += f"  (stopped by {stop.get('sender')}{where(stop)})"
    elif training.get("reason"):
        # A completed training has a reason only when a callback ended it early
        # (EarlyStopping, TerminateOnNaN…): worth saying, since it did not run all its epochs.
        text += f"  ({training['reason']})"
    return text


def where(stop: dict[str, Any]) -> str:
    epoch, step = stop.get("epoch"), stop.get("step")
    if epoch is None:
        return ""
    return f" at epoch {epoch + 1}" + (f", step {step}" if step is not None else "")


SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int = 40) -> str:
    """A one-line chart of `values`, resampled to at most `width` characters; a NaN or
    infinite value is drawn as `!`, never scaled."""
    if not values:
        return ""
    if len(values) > width:
        step = len(values) / width
        values = [values[int(i * step)] for i in range(width)]
    finite = [v for v in values if math.isfinite(v)] or [0.0]
    low, high = min(finite), max(finite)
    span = high - low or 1.0
    return "".join(
        SPARK[int((v - low) / span * (len(SPARK) - 1))] if math.isfinite(v) else "!" for v in values
    )


# Names users give to what the Tracker records under Keras' own name; the widget's parameter
# table (js/params.js ALIASES) folds the same ones.
ALIASES = {
    "learning_rate": ("lr", "learningrate", "learning-rate"),
    "batch_size": ("bs", "batch", "batchsize"),
    "epochs": ("n_epochs", "num_epochs", "epoch"),
    "optimizer": ("opt", "optim"),
}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        # The recorded learning rate went through float32: 0.001 -> 0.0010000000474974513.
        return math.isclose(a, b, rel_tol=1e-6)
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()  # "adam" and Adam
    return bool(a == b)


def param_rows(params: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) per parameter; a user's name for a recorded one (`lr` beside Keras'
    `learning_rate`) with the same value joins its row as `learning_rate (lr)`; with a
    different value both rows stay, since they then tell different things."""
    merged: dict[str, list[str]] = {name: [] for name in params}
    for canonical, aliases in ALIASES.items():
        if canonical not in params:
            continue
        for alias in aliases:
            if alias in merged and _same(params[alias], params[canonical]):
                merged[canonical].append(alias)
                del merged[alias]
    return [
        (f"{name} ({', '.join(also)})" if also else name, param(params[name]))
        for name, also in merged.items()
    ]


def store_line(connection: dict[str, Any]) -> str | None:
    """One line on the store when it is not working ("store: reconnecting (why)"), else None."""
    status = str(connection.get("store_status") or "connecting")
    if status in STORE_OK:
        return None
    detail = " ".join(str(connection.get("store_detail") or "").split())  # one line
    return f"store: {status} ({detail})" if detail else f"store: {status}"
