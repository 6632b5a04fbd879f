"""The two models the overhead benchmark trains: a tiny MLP and a small CNN."""

from __future__ import annotations

from typing import Any

BATCH = 32


def _compiled(layers: list[Any]) -> Any:
    import keras

    model = keras.Sequential(layers)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return model


def mlp(steps_per_epoch: int) -> tuple[Any, Any, Any, str]:
    """Dense 64→64→10 on synthetic data: about a millisecond per step, the worst case for
    any per-batch cost."""
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH * steps_per_epoch, 64)).astype("float32")
    y = rng.integers(0, 10, size=len(x))
    dense = keras.layers.Dense
    model = _compiled([keras.Input((64,)), dense(64, activation="relu"), dense(10)])
    return model, x, y, "MLP 64→64→10, synthetic data, batch 32"


def cnn() -> tuple[Any, Any, Any, str]:
    """A small CNN on scikit-learn's bundled digits (8x8, 1797 images)."""
    import keras
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]
    layers = keras.layers
    model = _compiled(
        [
            keras.Input((8, 8, 1)),
            layers.Conv2D(16, 3, activation="relu", padding="same"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, activation="relu", padding="same"),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(10),
        ]
    )
    return model, x, digits.target, "CNN conv16-conv32-dense64 on scikit-learn's digits, batch 32"
