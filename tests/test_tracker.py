"""The Tracker inside real Keras `fit()` calls, recording to the embedded backend."""

from __future__ import annotations

import inspect
import os
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dltrack import DltrackWarning, Tracker, Watcher
from tests.helpers import (
    epochs,
    pace_callback,
    tiny_data,
    tiny_model,
    trainings,
    wait_for_status,
    wait_until,
)

pytestmark = pytest.mark.slow


def dltrack_messages(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, DltrackWarning)]


def stored_logs(model_key: str, training_id: str | None) -> dict[str, list[float]]:
    """The store's epochs in the shape of `History.history`: what Keras reported. The
    learning rate dltrack adds to each epoch's logs (`lr`) is checked apart, in
    test_each_epoch_records_its_learning_rate."""
    assert training_id is not None, "the Tracker has not started"
    out: dict[str, list[float]] = {}
    for record in epochs(model_key, training_id):
        for name, value in record.logs.items():
            if name != "lr":
                out.setdefault(name, []).append(value)
    return out


def only_training(model_key: str) -> Any:
    (training,) = trainings(model_key)
    return training


# -- what a training records ------------------------------------------------------------------


def test_store_holds_exactly_the_history(model_key: str) -> None:
    x, y = tiny_data(64)
    model = tiny_model()
    tracker = Tracker(model_key, params={"note": "baseline", "lr": 0.01})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(
            x, y, epochs=3, batch_size=16, validation_split=0.25, callbacks=[tracker], verbose=0
        )
    # fit() has returned: on_train_end waited for the records, nothing to wait for here.
    t = only_training(model_key)
    assert t.training_id == tracker.training_id
    assert t.number == 1
    assert t.status == "completed"
    assert t.epochs_done == 3
    assert t.stop is None
    assert t.ended_at is not None and t.ended_at >= t.started_at
    assert stored_logs(model_key, t.training_id) == history.history
    assert set(history.history) == {"loss", "mae", "val_loss", "val_mae"}
    records = epochs(model_key, t.training_id)
    assert [r.epoch for r in records] == [0, 1, 2]
    assert [r.steps for r in records] == [3, 3, 3]  # 48 training samples / 16
    assert all(r.started_at <= r.ended_at for r in records)
    assert t.final_logs == {
        **{name: values[-1] for name, values in history.history.items()},
        "lr": pytest.approx(0.01),
    }
    assert t.params["epochs"] == 3
    assert t.params["steps"] == 3
    assert t.params["note"] == "baseline"
    assert t.params["lr"] == 0.01
    assert t.params["optimizer"] == "SGD"
    assert t.params["parameter_count"] == model.count_params()
    assert dltrack_messages(caught) == []


def test_validation_data(model_key: str) -> None:
    x, y = tiny_data(64)
    vx, vy = tiny_data(20, seed=1)
    tracker = Tracker(model_key)
    history = tiny_model().fit(
        x, y, epochs=2, batch_size=32, validation_data=(vx, vy), callbacks=[tracker], verbose=0
    )
    logs = stored_logs(model_key, tracker.training_id)
    assert logs == history.history
    assert "val_loss" in logs and "val_mae" in logs


def test_initial_epoch(model_key: str) -> None:
    x, y = tiny_data(32)
    tracker = Tracker(model_key)
    history = tiny_model().fit(
        x, y, epochs=4, initial_epoch=2, batch_size=16, callbacks=[tracker], verbose=0
    )
    assert history.epoch == [2, 3]
    assert [r.epoch for r in epochs(model_key, tracker.training_id)] == [2, 3]
    assert stored_logs(model_key, tracker.training_id) == history.history
    t = only_training(model_key)
    assert t.status == "completed"
    assert t.params["epochs"] == 4


def test_steps_per_execution(model_key: str) -> None:
    x, y = tiny_data(64)
    tracker = Tracker(model_key)
    model = tiny_model(steps_per_execution=4)
    history = model.fit(x, y, epochs=2, batch_size=8, callbacks=[tracker], verbose=0)
    records = epochs(model_key, tracker.training_id)
    assert [r.steps for r in records] == [8, 8]  # hooks run every 4 steps; the count is right
    assert stored_logs(model_key, tracker.training_id) == history.history
    t = only_training(model_key)
    assert t.params["steps_per_execution"] == 4
    assert t.params["steps"] == 8


# Keras learns where an unsized dataset ends by running out of it, and says so.
@pytest.mark.filterwarnings("ignore:Your input ran out of data")
def test_unknown_steps_from_a_dataset_without_cardinality(model_key: str) -> None:
    import tensorflow as tf

    x, y = tiny_data(40)

    def batches() -> Iterator[tuple[Any, Any]]:
        for start in range(0, 40, 10):
            yield x[start : start + 10], y[start : start + 10]

    spec = (
        tf.TensorSpec((None, 4), tf.float32),
        tf.TensorSpec((None, 1), tf.float32),
    )
    data = tf.data.Dataset.from_generator(batches, output_signature=spec)
    assert data.cardinality() == tf.data.UNKNOWN_CARDINALITY
    tracker = Tracker(model_key)
    history = tiny_model().fit(data, epochs=2, shuffle=False, callbacks=[tracker], verbose=0)
    t = only_training(model_key)
    assert t.status == "completed"
    assert t.params["steps"] is None
    assert [r.steps for r in epochs(model_key, t.training_id)] == [4, 4]
    assert stored_logs(model_key, t.training_id) == history.history


@pytest.mark.filterwarnings("ignore:Your input ran out of data")
def test_unknown_steps_from_a_python_generator(model_key: str) -> None:
    x, y = tiny_data(30)
    tracker = Tracker(model_key)
    generator = ((x[i : i + 10], y[i : i + 10]) for i in range(0, 30, 10))
    history = tiny_model().fit(generator, epochs=1, shuffle=False, callbacks=[tracker], verbose=0)
    t = only_training(model_key)
    assert t.status == "completed"
    assert t.params["steps"] is None
    assert [r.steps for r in epochs(model_key, t.training_id)] == [3]
    assert stored_logs(model_key, t.training_id) == history.history


def test_the_store_follows_a_running_training(model_key: str) -> None:
    x, y = tiny_data(32)
    seen: dict[str, Any] = {}

    def look(epoch: int, batch: int) -> None:
        if (epoch, batch) == (2, 0):  # two epochs done, the third one running
            seen["row"] = wait_until(
                lambda: next((t for t in trainings(model_key) if t.epochs_done == 2), None),
                10,
                "the store to show two epochs done",
            )
            seen["epochs"] = [r.epoch for r in epochs(model_key, seen["row"].training_id)]

    tiny_model().fit(
        x, y, epochs=3, batch_size=16, callbacks=[Tracker(model_key), pace_callback(look)]
    )
    assert seen["row"].status == "running"
    assert seen["row"].number == 1
    assert seen["epochs"] == [0, 1]
    assert only_training(model_key).epochs_done == 3


def test_one_tracker_for_two_fits(model_key: str) -> None:
    x, y = tiny_data(32)
    model = tiny_model()
    tracker = Tracker(model_key)
    first = model.fit(x, y, epochs=2, batch_size=16, callbacks=[tracker], verbose=0)
    first_id = tracker.training_id
    second = model.fit(x, y, epochs=3, batch_size=16, callbacks=[tracker], verbose=0)
    assert tracker.training_id != first_id
    one, two = trainings(model_key)
    assert (one.number, one.training_id, one.status) == (1, first_id, "completed")
    assert (two.number, two.training_id, two.status) == (2, tracker.training_id, "completed")
    assert stored_logs(model_key, first_id) == first.history
    assert stored_logs(model_key, tracker.training_id) == second.history


# -- stopping ---------------------------------------------------------------------------------


def _stop_from_another_thread(
    model_key: str, after_epoch: bool, results: dict[str, Any]
) -> tuple[threading.Event, threading.Event, threading.Thread]:
    """A thread that, once `reached` is set, stops the training through a Watcher and sets
    `answered` when the training has acknowledged it."""
    reached, answered = threading.Event(), threading.Event()

    def run() -> None:
        try:
            if not reached.wait(60):
                return
            with Watcher(model_key, sender="tester (another thread)") as watcher:
                command_id = watcher.stop_training(after_epoch=after_epoch)

                def acked(snap: dict[str, Any]) -> bool:
                    return any(
                        c["id"] == command_id and c["state"] in ("acknowledged", "done")
                        for c in snap["commands"]
                    )

                results["acknowledged"] = watcher.wait_for(acked, 20) is not None
        finally:
            answered.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return reached, answered, thread


def test_stop_from_a_watcher_ends_fit_after_the_current_batch(model_key: str) -> None:
    x, y = tiny_data(160)  # 10 steps per epoch
    results: dict[str, Any] = {}
    reached, answered, thread = _stop_from_another_thread(model_key, False, results)

    def hold(epoch: int, batch: int) -> None:
        # Hold the training in epoch 1 (0-based), batch 3 until the stop is acknowledged:
        # the next batch end is where the stop must take effect.
        if (epoch, batch) == (1, 3):
            reached.set()
            answered.wait(60)

    tracker = Tracker(model_key)
    history = tiny_model().fit(
        x, y, epochs=20, batch_size=16, callbacks=[tracker, pace_callback(hold)], verbose=0
    )
    thread.join(10)
    assert results.get("acknowledged") is True
    assert history.epoch == [0, 1]  # far fewer than asked
    t = only_training(model_key)
    assert t.status == "stopped"
    assert t.stop["sender"] == "tester (another thread)"
    assert t.stop["kind"] == "stop"
    assert (t.stop["epoch"], t.stop["step"]) == (1, 5)  # batch index 4: the one after the ack
    assert "tester (another thread)" in t.reason
    records = epochs(model_key, t.training_id)
    assert [r.steps for r in records] == [10, 5]
    assert stored_logs(model_key, t.training_id) == history.history


def test_stop_after_epoch_finishes_the_current_epoch(model_key: str) -> None:
    x, y = tiny_data(160)
    results: dict[str, Any] = {}
    reached, answered, thread = _stop_from_another_thread(model_key, True, results)

    def hold(epoch: int, batch: int) -> None:
        if (epoch, batch) == (1, 3):
            reached.set()
            answered.wait(60)

    tracker = Tracker(model_key)
    history = tiny_model().fit(
        x, y, epochs=20, batch_size=16, callbacks=[tracker, pace_callback(hold)], verbose=0
    )
    thread.join(10)
    assert results.get("acknowledged") is True
    assert history.epoch == [0, 1]
    t = only_training(model_key)
    assert t.status == "stopped"
    assert t.stop["kind"] == "stop_after_epoch"
    assert (t.stop["epoch"], t.stop["step"]) == (1, 10)
    assert [r.steps for r in epochs(model_key, t.training_id)] == [10, 10]


def test_first_interrupt_stops_gracefully(
    model_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    x, y = tiny_data(160)
    before = signal.getsignal(signal.SIGINT)
    in_epoch_1 = threading.Event()

    def interrupt() -> None:
        if in_epoch_1.wait(60):
            os.kill(os.getpid(), signal.SIGINT)

    sender = threading.Thread(target=interrupt, daemon=True)
    sender.start()

    def mark(epoch: int, batch: int) -> None:
        if (epoch, batch) == (1, 2):
            in_epoch_1.set()

    tracker = Tracker(model_key)
    history = tiny_model().fit(
        x,
        y,
        epochs=200,
        batch_size=16,
        callbacks=[tracker, pace_callback(mark, delay=0.005)],
        verbose=0,
    )
    sender.join(5)
    assert len(history.epoch) < 200
    t = only_training(model_key)
    assert t.status == "stopped"
    assert t.stop["sender"] == "interrupt (Ctrl-C)"
    assert t.stop["epoch"] == history.epoch[-1]
    assert t.stop["step"] < 10  # stopped inside an epoch, after a batch
    assert stored_logs(model_key, t.training_id) == history.history
    assert signal.getsignal(signal.SIGINT) is before  # handler given back
    assert "interrupt again to stop at once" in capsys.readouterr().err


def test_second_interrupt_raises_keyboard_interrupt(model_key: str) -> None:
    x, y = tiny_data(160)
    before = signal.getsignal(signal.SIGINT)
    tracker = Tracker(model_key)
    holding = threading.Event()
    first_taken: list[bool] = []

    def interrupt_twice() -> None:
        if not holding.wait(60):
            return
        os.kill(os.getpid(), signal.SIGINT)
        # The second interrupt must come after the first was taken as a stop request.
        wait_until(
            lambda: tracker._session is not None and tracker._session.stop_request is not None,
            10,
            "the first interrupt to become a stop request",
        )
        first_taken.append(True)
        os.kill(os.getpid(), signal.SIGINT)

    sender = threading.Thread(target=interrupt_twice, daemon=True)
    sender.start()

    def hold(epoch: int, batch: int) -> None:
        if (epoch, batch) == (1, 2):
            holding.set()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # a long batch; the interrupts land here
                time.sleep(0.01)

    with pytest.raises(KeyboardInterrupt):
        tiny_model().fit(
            x, y, epochs=5, batch_size=16, callbacks=[tracker, pace_callback(hold)], verbose=0
        )
    sender.join(5)
    assert first_taken == [True]  # the KeyboardInterrupt came from the second one
    assert signal.getsignal(signal.SIGINT) is before
    # fit() was left by an exception: the training is not left "running".
    t = wait_for_status(model_key, 1, ("failed",), timeout=15)
    assert t.epochs_done == 1


def test_interrupt_handler_only_during_fit(model_key: str) -> None:
    before = signal.getsignal(signal.SIGINT)
    seen: list[Any] = []

    def look(epoch: int, batch: int) -> None:
        seen.append(signal.getsignal(signal.SIGINT))

    x, y = tiny_data(16)
    tiny_model().fit(x, y, epochs=1, callbacks=[Tracker(model_key), pace_callback(look)], verbose=0)
    assert seen and all(h is not before for h in seen)
    assert signal.getsignal(signal.SIGINT) is before
    seen.clear()
    tiny_model().fit(
        x,
        y,
        epochs=1,
        callbacks=[Tracker(model_key, handle_interrupt=False), pace_callback(look)],
        verbose=0,
    )
    assert seen and all(h is before for h in seen)


# -- failures never reach fit() ---------------------------------------------------------------


def test_an_exception_in_fit_is_recorded_as_failed(model_key: str) -> None:
    import keras

    class Boom(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            if epoch == 1:
                raise RuntimeError("boom")

    x, y = tiny_data(32)
    with pytest.raises(RuntimeError, match="boom"):
        tiny_model().fit(x, y, epochs=5, batch_size=16, callbacks=[Tracker(model_key), Boom()])
    # Keras calls no hook when fit() raises; the broker thread notices fit() has gone.
    t = wait_for_status(model_key, 1, ("failed",), timeout=15)
    assert "exception" in (t.reason or "")
    assert t.ended_at is not None
    assert [r.epoch for r in epochs(model_key, t.training_id)] == [0, 1]


@pytest.mark.parametrize("key", [None, "not a key!", "short", "x" * 200])
def test_missing_or_malformed_key_warns_once_and_fit_runs(key: str | None) -> None:
    x, y = tiny_data(32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = tiny_model().fit(
            x, y, epochs=2, batch_size=16, callbacks=[Tracker(key)], verbose=0
        )
    ours = dltrack_messages(caught)
    assert len(ours) == 1, ours
    assert "not tracking this training" in ours[0]
    assert "dltrack models create" in ours[0]
    assert history.epoch == [0, 1]


def test_unknown_key_exactly_one_warning() -> None:
    from dltrack.wire.keys import new_model_key

    x, y = tiny_data(64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = tiny_model().fit(
            x, y, epochs=3, batch_size=16, callbacks=[Tracker(new_model_key())], verbose=0
        )
    ours = dltrack_messages(caught)
    assert len(ours) == 1, ours
    assert "no model 'id_" in ours[0]
    assert history.epoch == [0, 1, 2]
    from dltrack import list_models

    assert list_models() == []  # nothing was recorded anywhere


def test_warnings_as_errors_still_never_break_fit() -> None:
    from dltrack.wire.keys import new_model_key

    x, y = tiny_data(32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DltrackWarning)
        history = tiny_model().fit(
            x, y, epochs=2, batch_size=16, callbacks=[Tracker(new_model_key())], verbose=0
        )
    assert history.epoch == [0, 1]


def test_unwritable_home_warns_and_fit_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model_key: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("DLTRACK_HOME", str(blocker / "home"))  # even root cannot mkdir here
    x, y = tiny_data(32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = tiny_model().fit(
            x, y, epochs=2, batch_size=16, callbacks=[Tracker(model_key)], verbose=0
        )
    ours = dltrack_messages(caught)
    assert 1 <= len(ours) <= 2, ours  # at most one per sink (spool/store, broker)
    assert all("DLTRACK_HOME" in m for m in ours), ours
    assert history.epoch == [0, 1]


def test_broker_down_loses_no_epoch(tmp_path: Path, model_key: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    x, y = tiny_data(32)
    tracker = Tracker(model_key, broker=f"sqlite://{blocker}/broker.db")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = tiny_model().fit(x, y, epochs=3, batch_size=16, callbacks=[tracker], verbose=0)
    ours = dltrack_messages(caught)
    assert len(ours) == 1 and "live updates paused" in ours[0], ours
    t = only_training(model_key)
    assert t.status == "completed"
    assert stored_logs(model_key, t.training_id) == history.history


def test_store_down_then_back_loses_no_epoch(tmp_path: Path) -> None:
    from dltrack import create_model
    from dltrack.backends import open_store
    from dltrack.training.sync import sync_spool

    store_dir = tmp_path / "store"
    store_url = f"sqlite://{store_dir}/store.db"
    model_key = create_model("m", store=store_url).key
    # The store goes away: its directory moved, a file in its place (even root cannot
    # create the database there).
    store_dir.rename(tmp_path / "away")
    store_dir.write_text("")
    x, y = tiny_data(32)
    tracker = Tracker(model_key, store=store_url, shutdown_timeout=0.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = tiny_model().fit(x, y, epochs=3, batch_size=16, callbacks=[tracker], verbose=0)
    ours = dltrack_messages(caught)
    assert any("unavailable" in m for m in ours), ours
    assert any("dltrack sync" in m for m in ours), ours

    # The store comes back; what waited in the spool (under DLTRACK_HOME) is written.
    store_dir.unlink()
    (tmp_path / "away").rename(store_dir)
    report = sync_spool(store=store_url)
    written, left = report.written, report.left
    assert left == 0 and report.unwritable == 0
    assert written >= 5  # at least the start, 3 epochs and the end
    store = open_store(store_url)
    try:
        (t,) = store.list_trainings(model_key)
        assert t.training_id == tracker.training_id
        assert t.status == "completed"
        assert t.epochs_done == 3
        assert [e.logs for e in store.list_epochs(model_key, t.training_id)] == [
            {**{k: v[i] for k, v in history.history.items()}, "lr": pytest.approx(0.01)}
            for i in range(3)
        ]
    finally:
        store.close()


# -- the training thread does no I/O ----------------------------------------------------------


def test_no_broker_or_store_call_on_the_training_side(
    model_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every call into the broker, the store and the spool comes from dltrack's own two
    threads; none from the training thread or Keras' callback executor."""
    from dltrack.backends import local_broker, local_store
    from dltrack.training.spool import Spool

    calls: list[tuple[str, str]] = []

    def recording(fn: Any, name: str) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls.append((threading.current_thread().name, name))
            return fn(*args, **kwargs)

        return wrapper

    classes = (
        local_broker.LocalBroker,
        local_broker._RowFeed,
        local_broker._CommandFeed,
        local_store.LocalStore,
        Spool,
    )
    for cls in classes:
        for name, fn in list(vars(cls).items()):
            if inspect.isfunction(fn):
                monkeypatch.setattr(cls, name, recording(fn, f"{cls.__name__}.{name}"))

    x, y = tiny_data(64)
    # The Tracker alone: Keras may then run its batch hooks on an executor thread.
    history = tiny_model().fit(x, y, epochs=3, batch_size=8, callbacks=[Tracker(model_key)])
    assert len(history.epoch) == 3
    monkeypatch.undo()
    names = {name for _, name in calls}
    # It did real work…
    assert {"LocalBroker.publish_update", "LocalStore.write_epoch", "Spool.append"} <= names
    # …only on its own threads (the relay only wakes the broker thread's wait, `Feed.wake`).
    threads = {thread for thread, name in calls if not name.endswith(".wake")}
    assert threads <= {"dltrack-broker", "dltrack-store"}, calls
    assert {thread for thread, name in calls if name.endswith(".wake")} <= {"dltrack-relay"}


def test_each_epoch_records_its_learning_rate(model_key: str) -> None:
    import keras

    x, y = tiny_data()
    model = tiny_model()
    halve = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.01 / 2**epoch)
    tracker = Tracker(model_key)
    model.fit(x, y, epochs=3, batch_size=16, callbacks=[halve, tracker], verbose=0)
    lrs = [r.logs["lr"] for r in epochs(model_key, tracker.training_id)]
    assert lrs == [pytest.approx(0.01), pytest.approx(0.005), pytest.approx(0.0025)]
