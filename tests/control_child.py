"""A real Keras training for the steering tests, run as `python tests/control_child.py KEY JSON`.

Every batch it appends `{"t", "epoch", "batch", "lr"}` to the log file named in the options,
the learning rate read from the optimizer inside the training, so a test can check what the
training really used. Options (JSON): epochs, delay (s per batch), log, checkpoint_dir,
pause_timeout, schedule (bool), unsaveable (bool), rules (list), early_stopping (patience),
val_losses (a fixed val_loss per epoch, to compare a rule with EarlyStopping), nan_from (targets
from this row on are NaN, and TerminateOnNaN ends the training), webhook (a URL).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import keras
import numpy as np

from dltrack import Tracker


class Unsaveable(keras.layers.Layer):
    """A custom layer whose config holds an object that cannot be serialised."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = scale

    def call(self, x: Any) -> Any:
        return x * self.scale

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale, "rng": np.random.default_rng()}


class Record(keras.callbacks.Callback):
    def __init__(self, path: str | None, delay: float, val_losses: list[float] | None) -> None:
        super().__init__()
        self.path, self.delay, self.val_losses = path, delay, val_losses
        self.epoch = 0
        self.file = open(path, "a") if path else None  # noqa: SIM115 - open for the whole fit

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        time.sleep(self.delay)
        if self.file is not None:
            lr = float(self.model.optimizer.learning_rate)
            line = {"t": time.time(), "epoch": self.epoch, "batch": batch, "lr": lr}
            self.file.write(json.dumps(line) + "\n")
            self.file.flush()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        # A scripted val_loss, so that when a plateau happens is known in advance.
        if self.val_losses is not None and logs is not None:
            logs["val_loss"] = self.val_losses[min(epoch, len(self.val_losses) - 1)]


def main() -> None:
    key, options = sys.argv[1], json.loads(sys.argv[2])
    rng = np.random.default_rng(0)
    x = rng.random((64, 4), dtype="float32")
    y = x.sum(axis=1, keepdims=True)
    if options.get("nan_from") is not None:
        y[options["nan_from"] :] = float("nan")
    layers: list[Any] = [keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(1)]
    if options.get("unsaveable"):
        layers.append(Unsaveable(2.0))
    model = keras.Sequential(layers)
    rate: Any = 0.01
    if options.get("schedule"):
        rate = keras.optimizers.schedules.ExponentialDecay(0.01, 100, 0.9)
    model.compile(optimizer=keras.optimizers.SGD(rate), loss="mse")
    record = Record(options.get("log"), options.get("delay", 0.05), options.get("val_losses"))
    # The recorder first: it writes val_loss into the logs before the others read them.
    callbacks: list[Any] = [record]
    if options.get("early_stopping"):
        callbacks.append(keras.callbacks.EarlyStopping(patience=options["early_stopping"]))
    if options.get("nan_from") is not None:
        callbacks.append(keras.callbacks.TerminateOnNaN())
    tracker = Tracker(
        key,
        checkpoint_dir=options.get("checkpoint_dir"),
        pause_timeout=options.get("pause_timeout"),
        rules=options.get("rules"),
        webhook=options.get("webhook"),
    )
    callbacks.append(tracker)
    model.fit(
        x,
        y,
        batch_size=8,
        epochs=options.get("epochs", 50),
        shuffle=not options.get("nan_from"),  # NaN targets last: the first epoch ends first
        verbose=0,
        callbacks=callbacks,
    )
    print("fit returned", flush=True)


if __name__ == "__main__":
    main()
