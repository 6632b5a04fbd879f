"""What a training records about itself: what Keras knows plus the user's own parameters."""

from __future__ import annotations

import math
from typing import Any

MAX_USER_PARAMS = 100


def _scalar(value: Any) -> Any:
    """`value` as a JSON scalar, or its short text when it is anything else."""
    if value is None or isinstance(value, (bool, int, str)):
        return value if not isinstance(value, str) else value[:200]
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    try:
        number = float(value)
        return number if math.isfinite(number) else str(number)
    except (TypeError, ValueError):
        return str(value)[:200]


def _learning_rate(optimizer: Any) -> float | str | None:
    try:
        return float(optimizer.learning_rate)
    except Exception:  # noqa: BLE001 - a schedule or an exotic optimizer: describe it instead
        rate = getattr(optimizer, "learning_rate", None)
        return None if rate is None else type(rate).__name__


def describe_training(
    model: Any, keras_params: dict[str, Any] | None, user_params: dict[str, Any]
) -> dict[str, Any]:
    """Parameters of a training: Keras' (epochs, steps), the model's, then the user's."""
    keras_params = keras_params or {}
    params: dict[str, Any] = {
        "epochs": keras_params.get("epochs"),
        "steps": keras_params.get("steps"),
    }
    if model is not None:
        params["model_name"] = getattr(model, "name", None)
        try:
            params["parameter_count"] = int(model.count_params())
        except Exception:  # noqa: BLE001 - an unbuilt model has no count yet
            params["parameter_count"] = None
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None:
            params["optimizer"] = type(optimizer).__name__
            params["learning_rate"] = _learning_rate(optimizer)
        spe = getattr(model, "steps_per_execution", None)
        if isinstance(spe, int) and spe > 1:
            params["steps_per_execution"] = spe
    for name, value in list(user_params.items())[:MAX_USER_PARAMS]:
        params[str(name)[:100]] = _scalar(value)
    return params
