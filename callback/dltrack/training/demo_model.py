"""The training behind `dltrack demo`: a small CNN on scikit-learn's bundled digits.

Run as `python -m dltrack.training.demo_model MODEL_KEY --epochs N`. Data is bundled with
scikit-learn, so nothing is downloaded. `--step-delay` slows each batch a little so that a
person can watch the bars fill and press Stop; it is the demo's only artificial part.
"""

from __future__ import annotations

import argparse
import time
from typing import Any


def build_model() -> Any:
    import keras

    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ],
        name="digits_cnn",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def load_digits() -> tuple[Any, Any]:
    from sklearn.datasets import load_digits as sk_digits

    digits = sk_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]
    return x, digits.target


def main(argv: list[str] | None = None) -> int:
    import keras

    from dltrack.training.tracker import Tracker

    parser = argparse.ArgumentParser(prog="python -m dltrack.training.demo_model")
    parser.add_argument("model_key")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--step-delay", type=float, default=0.02)
    # How long the end of the training may wait for its records to reach the store.
    parser.add_argument("--shutdown-timeout", type=float, default=5.0)
    args = parser.parse_args(argv)

    class Pace(keras.callbacks.Callback):  # type: ignore[misc]  # Keras ships no types
        def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            time.sleep(args.step_delay)

    x, y = load_digits()
    model = build_model()
    tracker = Tracker(
        args.model_key,
        params={"dataset": "sklearn digits", "demo": True},
        shutdown_timeout=args.shutdown_timeout,
    )
    callbacks: list[Any] = [tracker] + ([Pace()] if args.step_delay > 0 else [])
    model.fit(
        x,
        y,
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation_split=0.2,
        callbacks=callbacks,
        verbose=0,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
