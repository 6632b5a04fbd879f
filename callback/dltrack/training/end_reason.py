"""Why a training ended, told truthfully: which callback set `stop_training`, or which
exception left `fit()` (its type and first line only; a traceback may hold data)."""

from __future__ import annotations

import math
import re
import types
from collections.abc import Callable
from typing import Any

from dltrack.training.session import TrainingSession

# Keras wraps an error raised in a layer's call() in a header line, then the original message
# in bold: the header says nothing, so the first line of the original is told instead.
_KERAS_HEADER = "Exception encountered when calling"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def exception_summary(exc: BaseException) -> str:
    lines = [line.strip() for line in _ANSI.sub("", str(exc)).splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].startswith(_KERAS_HEADER):
        lines = lines[1:]
    first = lines[0] if lines else ""
    return f"{type(exc).__name__}: {first}"[:200] if first else type(exc).__name__


def watch_exceptions(model: Any, session: TrainingSession) -> Callable[[], None]:
    """Wrap the model's train function so that an exception it raises is remembered (Keras
    calls no hook when `fit()` fails). Returns the undo. Data pipelines and the train step run
    inside it, which is where a real training fails."""
    original = getattr(model, "train_function", None)
    if original is None:
        return lambda: None

    def train_function(*args: Any, **kwargs: Any) -> Any:
        try:
            return original(*args, **kwargs)
        except BaseException as exc:
            session.exception = exception_summary(exc)
            raise

    model.train_function = train_function

    def undo() -> None:
        if getattr(model, "train_function", None) is train_function:
            model.train_function = original

    return undo


def fit_callbacks(fit_frame: types.FrameType | None) -> list[Any]:
    """The callbacks of the running `fit()` (its local CallbackList), or [] if not found."""
    if fit_frame is None:
        return []
    callback_list = fit_frame.f_locals.get("callbacks")
    return list(getattr(callback_list, "callbacks", None) or [])


def stopped_by_callback(
    callbacks: list[Any], last_logs: dict[str, Any] | None, epochs_done: int
) -> tuple[str, str]:
    """(cause, reason) for a `stop_training` that dltrack did not set."""
    import keras

    for cb in callbacks:
        if isinstance(cb, keras.callbacks.EarlyStopping) and cb.stopped_epoch > 0:
            return "EarlyStopping", (
                f"EarlyStopping: {cb.monitor} did not improve for {cb.patience} epoch(s), "
                f"stopped after epoch {cb.stopped_epoch + 1}"
            )
    loss = _as_float((last_logs or {}).get("loss"))
    terminate_on_nan = any(isinstance(cb, keras.callbacks.TerminateOnNaN) for cb in callbacks)
    if terminate_on_nan and loss is not None and not math.isfinite(loss):
        return "TerminateOnNaN", (
            f"TerminateOnNaN: the loss became {loss} in epoch {max(epochs_done, 1)}"
        )
    own = [
        type(cb).__name__
        for cb in callbacks
        if not type(cb).__module__.startswith(("keras.", "dltrack."))
    ]
    names = f" ({', '.join(own)})" if own else ""
    return "callback", f"a callback{names} set model.stop_training after {epochs_done} epoch(s)"


def _as_float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
