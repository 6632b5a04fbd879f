"""The two models the overhead benchmark trains: a tiny MLP and a small CNN."""

from __future__ import annotations

from typing import Any

BATCH = 32


def mlp(steps_per_epoch: int) -> tuple[Any, Any, Any, str]:
    """Dense 64→64→10 on synthetic data: the ~2-3 ms/step class of DESIGN.md §9."""
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH * steps_per_epoch, 64)).astype("float32")
    y = rng.integers(0, 10, size=len(x))
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)]
    )
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model, x, y, "MLP 64→64→10, synthetic data, batch 32"


def cnn() -> tuple[Any, Any, Any, str]:
    """A small CNN on scikit-learn's bundled digits (8x8, 1797 images)."""
    import keras
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]
    y = digits.target
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(16, 3, activation="relu", padding="same"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(32, 3, activation="relu", padding="same"),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model, x, y, "CNN conv16-conv32-dense64 on sklearn digits, batch 32"
