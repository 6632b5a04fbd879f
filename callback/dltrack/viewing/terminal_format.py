"""Pure text formatting for the terminal viewer: bars, durations, rates, metrics."""

from __future__ import annotations

from typing import Any

BAR_WIDTH = 30


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


def metric(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) else str(value)


def logs(values: dict[str, Any], limit: int = 8) -> str:
    """`loss 0.41 · accuracy 0.88 · val_loss …`, train metrics first, each before its val twin."""
    names = sorted(values, key=lambda n: (n.removeprefix("val_"), n.startswith("val_")))
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


def progress_line(training: dict[str, Any], now: float) -> str:
    current = training["current"]
    step, steps = current["step"], current["steps"]
    elapsed = now - current["epoch_started_at"]
    speed = current.get("rate")
    eta = (steps - step) / speed if steps and speed else None
    count = f"{step}/{steps}" if steps else f"{step}"
    return (
        f"#{training['number'] or '?'} {epoch_label(current['epoch'], training['epochs_planned'])} "
        f"{bar(step, steps)} {count} [{duration(elapsed)}<{duration(eta)}, {rate(speed)}] "
        f"{logs(current['logs'], limit=4)}"
    )


def epoch_line(training: dict[str, Any], record: dict[str, Any]) -> str:
    steps = record.get("steps")
    took = None
    if record.get("started_at") and record.get("ended_at"):
        took = record["ended_at"] - record["started_at"]
    planned = (training.get("params") or {}).get("steps")
    if steps and planned and steps < planned:
        # Stopped part-way: show how far it got, as the widget does.
        count, filled = f"{steps}/{planned} (partial)", bar(steps, planned)
    else:
        count, filled = (f"{steps}/{steps}" if steps else "done"), bar(1, 1)
    return (
        f"#{training['number'] or '?'} {epoch_label(record['epoch'], training['epochs_planned'])} "
        f"{filled} {count} [{duration(took)}] {logs(record['logs'])}"
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
    elif training.get("reason") and training["status"] != "completed":
        text += f"  ({training['reason']})"
    return text


def where(stop: dict[str, Any]) -> str:
    epoch, step = stop.get("epoch"), stop.get("step")
    if epoch is None:
        return ""
    return f" at epoch {epoch + 1}" + (f", step {step}" if step is not None else "")


SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int = 40) -> str:
    """A one-line chart of `values`, resampled to at most `width` characters."""
    if not values:
        return ""
    if len(values) > width:
        step = len(values) / width
        values = [values[int(i * step)] for i in range(width)]
    low, high = min(values), max(values)
    span = high - low or 1.0
    return "".join(SPARK[int((v - low) / span * (len(SPARK) - 1))] for v in values)
