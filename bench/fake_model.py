"""A stand-in for a Keras model, for driving a real Tracker's hooks from a plain-Python loop."""

from __future__ import annotations

import time


class FakeModel:
    """What the Tracker touches on a model: a name, `count_params`, and `stop_training`, whose
    setting is time-stamped (`time.monotonic()`, comparable across processes on Linux)."""

    name = "fake"
    optimizer = None

    def __init__(self) -> None:
        self._stop = False
        self.stop_set_at: float | None = None

    def count_params(self) -> int:
        return 0

    @property
    def stop_training(self) -> bool:
        return self._stop

    @stop_training.setter
    def stop_training(self, value: bool) -> None:
        if value and not self._stop:
            self.stop_set_at = time.monotonic()
        self._stop = bool(value)


def attach(tracker: object, epochs: int, steps: int) -> FakeModel:
    """Give `tracker` (a keras Callback) a fake model and fit() parameters."""
    model = FakeModel()
    tracker.set_model(model)  # type: ignore[attr-defined]
    tracker.set_params({"epochs": epochs, "steps": steps, "verbose": 0})  # type: ignore[attr-defined]
    return model
