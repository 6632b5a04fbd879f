"""Why a training ended, told truthfully: EarlyStopping, TerminateOnNaN, a user's callback, an
exception (type and first line), and step counts never past the epoch's end. Real fit()s."""

from __future__ import annotations

from typing import Any

import pytest

from dltrack import Tracker
from tests.helpers import local_store, tiny_data, tiny_model, trainings, wait_until

pytestmark = pytest.mark.slow


def ended(model_key: str) -> Any:
    return wait_until(
        lambda: next((t for t in trainings(model_key) if t.status != "running"), None),
        30,
        "the training's end in the store",
    )


def end_event(model_key: str, training_id: str) -> dict[str, Any]:
    store = local_store()
    try:
        events = wait_until(
            lambda: [e for e in store.list_events(model_key, training_id) if e["kind"] == "end"],
            30,
            "the end event",
        )
    finally:
        store.close()
    return events[0]


def test_early_stopping_is_named(model_key: str) -> None:
    import keras

    x, y = tiny_data()

    class Worse(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            assert logs is not None
            logs["val_loss"] = float(epoch)  # gets worse every epoch

    early = keras.callbacks.EarlyStopping(patience=2)
    tracker = Tracker(model_key)
    tiny_model().fit(x, y, epochs=10, verbose=0, callbacks=[Worse(), early, tracker])
    t = ended(model_key)
    assert (t.status, t.epochs_done) == ("completed", 3)
    assert (
        t.reason == "EarlyStopping: val_loss did not improve for 2 epoch(s), stopped after epoch 3"
    )
    assert end_event(model_key, t.training_id)["values"]["cause"] == "EarlyStopping"


def test_terminate_on_nan_is_named(model_key: str) -> None:
    import keras

    x, y = tiny_data(64)
    y[40:] = float("nan")
    tracker = Tracker(model_key)
    model = tiny_model()
    model.fit(
        x,
        y,
        epochs=5,
        batch_size=8,
        shuffle=False,
        verbose=0,
        callbacks=[keras.callbacks.TerminateOnNaN(), tracker],
    )
    t = ended(model_key)
    assert t.status == "completed"
    assert t.reason == "TerminateOnNaN: the loss became nan in epoch 1"
    assert end_event(model_key, t.training_id)["values"]["cause"] == "TerminateOnNaN"


def test_a_users_callback_is_named(model_key: str) -> None:
    import keras

    class Enough(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            if epoch == 1:
                self.model.stop_training = True

    x, y = tiny_data()
    tiny_model().fit(x, y, epochs=10, verbose=0, callbacks=[Enough(), Tracker(model_key)])
    t = ended(model_key)
    assert t.reason == "a callback (Enough) set model.stop_training after 2 epoch(s)"


def test_an_exception_is_recorded_by_type_and_first_line(model_key: str) -> None:
    import keras

    class Breaks(keras.layers.Layer):
        calls = 0

        def call(self, x: Any) -> Any:
            Breaks.calls += 1
            if Breaks.calls == 3:
                raise ValueError("bad batch 3\nsecret detail on the second line")
            return x

    model = keras.Sequential([keras.Input((4,)), Breaks(), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", run_eagerly=True)
    x, y = tiny_data()
    with pytest.raises(ValueError, match="bad batch 3"):
        model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[Tracker(model_key)])
    t = ended(model_key)
    assert (t.status, t.reason) == ("failed", "ValueError: bad batch 3")


def test_steps_never_pass_the_epochs_end_with_steps_per_execution(model_key: str) -> None:
    from tests.helpers import epochs

    x, y = tiny_data(23)
    tracker = Tracker(model_key)
    tiny_model(steps_per_execution=4).fit(
        x, y, epochs=2, batch_size=1, verbose=0, callbacks=[tracker]
    )
    assert tracker._session is not None and tracker._session.latest is not None
    assert tracker._session.latest.step == 23
    assert [e.steps for e in epochs(model_key, tracker.training_id)] == [23, 23]
