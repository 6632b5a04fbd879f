"""The broker goes away and comes back while a real Keras fit() runs (docs/architecture.md,
invariants 1, 2 and 5): fit() is untouched, every epoch reaches the store once, live updates
resume on their own, and a stop sent after the recovery is acknowledged and honoured.

Three ways to lose RabbitMQ: absent when the training starts; `rabbitmqctl stop_app` mid-run
(connections drop, the node keeps its exchanges); the node SIGKILLed mid-run and a fresh one
started (nothing survives, so the topology must be declared again).
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

import pytest

from dltrack import Tracker, Watcher, create_model
from tests.helpers import pace_callback, tiny_data, tiny_model, wait_until
from tests.reliability.support import (
    assert_every_epoch_once,
    captured_logs,
    dltrack_warnings,
    ensure_rabbitmq_up,
    keras_history_as_list,
    kill_rabbitmq,
    record_figure,
    restart_killed_rabbitmq,
    stored_training,
)
from tests.servers import PrivateRabbitMQ

pytestmark = [pytest.mark.amqp, pytest.mark.firestore, pytest.mark.slow]

OUTAGE_S = 10.0
PLANNED_EPOCHS = 400  # far more than the test lasts: the stop ends the training
RECOVERY_TIMEOUT_S = 30.0


def store_warning(warning: str) -> bool:
    """The store's own warning: on a loaded machine an emulator call can outlast its deadline
    (CI saw "499 call already cancelled"); its records wait in the spool, as designed. These
    tests are about the broker, so that one may come too, but nothing else."""
    return "epoch records are kept on disk" in warning


def view(snap: dict[str, Any], training_id: str | None) -> dict[str, Any] | None:
    return next((t for t in snap["trainings"] if t["training_id"] == training_id), None)


def live_step(snap: dict[str, Any], training_id: str | None) -> tuple[int, int] | None:
    """(epoch, step) of the training as heard live, when the watcher is connected."""
    t = view(snap, training_id)
    if snap["connection"]["status"] != "live" or t is None or t["status"] != "running":
        return None
    current = t["current"]
    return (current["epoch"], current["step"]) if current and current["step"] else None


def wait_for_progress(watcher: Watcher, training_id: str | None, timeout: float) -> None:
    """Two live positions, one after the other: updates flow (not one stale heartbeat)."""
    first = watcher.wait_for(lambda s: live_step(s, training_id), timeout)
    if first is None:  # the whole snapshot is too long for CI's excerpt: what tells why
        snap = watcher.snapshot()
        training = view(snap, training_id) or {}
        brief = {k: training.get(k) for k in ("status", "current", "last_seen", "epochs_done")}
        raise AssertionError(
            f"no live progress within {timeout:g}s: connection {snap['connection']}, "
            f"training {brief}"
        )
    seen = live_step(first, training_id)
    later = watcher.wait_for(lambda s: live_step(s, training_id) not in (None, seen), 10)
    assert later is not None, "live progress did not move"


def stop_and_confirm(watcher: Watcher, training_id: str | None) -> dict[str, Any]:
    """Send a stop; it must be acknowledged and every viewer must see the training stopped."""
    command_id = watcher.stop_training(training_id)

    def command(snap: dict[str, Any]) -> dict[str, Any] | None:
        return next((c for c in snap["commands"] if c["id"] == command_id), None)

    acked = watcher.wait_for(
        lambda s: (command(s) or {}).get("state") in ("acknowledged", "done"), 15
    )
    assert acked is not None, command(watcher.snapshot())
    ended = watcher.wait_for(lambda s: (view(s, training_id) or {}).get("status") == "stopped", 15)
    assert ended is not None, view(watcher.snapshot(), training_id)
    stopped = view(ended, training_id)
    assert stopped is not None
    return stopped


def run_fit_with(
    key: str, broker: str, store: str, orchestrate: Callable[[Tracker], None]
) -> tuple[Any, Tracker, list[str]]:
    """fit() on the main thread, `orchestrate(tracker)` on another; both must succeed."""
    x, y = tiny_data(160)  # 10 steps per epoch at batch size 16
    tracker = Tracker(key, broker=broker, store=store)
    errors: list[BaseException] = []

    def side() -> None:
        try:
            wait_until(lambda: tracker._session is not None, 60, "the training to start")
            orchestrate(tracker)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the main thread
            errors.append(exc)
            session = tracker._session
            if session is not None:
                session.stop_request = None
            tracker.model.stop_training = True

    thread = threading.Thread(target=side, daemon=True)
    thread.start()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = tiny_model().fit(
            x,
            y,
            epochs=PLANNED_EPOCHS,
            batch_size=16,
            callbacks=[tracker, pace_callback(delay=0.03)],
            verbose=0,
        )
    thread.join(60)
    if errors:
        raise errors[0]
    return history, tracker, dltrack_warnings(caught)


def check_outcome(
    history: Any, tracker: Tracker, store: str, key: str, stopped: dict[str, Any]
) -> None:
    epochs = keras_history_as_list(history)
    assert 0 < len(epochs) < PLANNED_EPOCHS  # the stop ended it, after the current batch
    assert_every_epoch_once(store, key, str(tracker.training_id), epochs)
    record = stored_training(store, key, str(tracker.training_id))
    assert record.status == "stopped"
    assert record.epochs_done == len(epochs)
    assert record.stop["epoch"] == len(epochs) - 1 == stopped["stop"]["epoch"]
    assert record.stop["step"] == stopped["stop"]["step"]


def test_broker_absent_at_start_then_up(rabbit: PrivateRabbitMQ, firestore_url: str) -> None:
    key = create_model("broker absent at start", store=firestore_url).key
    figures: dict[str, float] = {}

    def orchestrate(tracker: Tracker) -> None:
        wait_until(lambda: (tracker._session.epoch or 0) >= 2, 30, "epoch 2")  # type: ignore[union-attr]
        rabbit.start()
        up = figures["up_at"] = time.monotonic()
        with Watcher(key, broker=rabbit.url, store=firestore_url) as watcher:
            wait_for_progress(watcher, tracker.training_id, RECOVERY_TIMEOUT_S)
            figures["live_after_broker_up_s"] = time.monotonic() - up
            stopped = stop_and_confirm(watcher, tracker.training_id)
            figures["stopped_at_epoch"] = stopped["stop"]["epoch"]
            orchestrate.stopped = stopped  # type: ignore[attr-defined]

    rabbit.stop()
    try:
        with captured_logs() as logs:
            history, tracker, warned = run_fit_with(key, rabbit.url, firestore_url, orchestrate)
    finally:
        rabbit.start()
    broker_warnings = [w for w in warned if "live updates paused" in w]
    assert len(broker_warnings) == 1, warned
    assert all(w in broker_warnings or store_warning(w) for w in warned), warned
    reconnected = logs.first("reconnected to the broker")
    assert reconnected is not None
    figures["training_reconnected_after_broker_up_s"] = reconnected - figures.pop("up_at")
    check_outcome(history, tracker, firestore_url, key, orchestrate.stopped)  # type: ignore[attr-defined]
    record_figure("broker_absent_at_start", **figures)


@pytest.mark.parametrize("how", ["stop_app", "sigkill"])
def test_broker_lost_mid_run_and_back(
    how: str, rabbit: PrivateRabbitMQ, firestore_url: str
) -> None:
    key = create_model(f"broker {how} mid-run", store=firestore_url).key
    figures: dict[str, float] = {}

    def orchestrate(tracker: Tracker) -> None:
        with Watcher(key, broker=rabbit.url, store=firestore_url) as watcher:
            wait_for_progress(watcher, tracker.training_id, 20)
            if how == "stop_app":
                rabbit.stop()
            else:
                kill_rabbitmq(rabbit)
            down = time.monotonic()
            gone = watcher.wait_for(lambda s: s["connection"]["status"] != "live", 15)
            assert gone is not None, "the watcher did not notice the broker going"
            time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down)))
            if how == "stop_app":
                rabbit.start()
            else:
                restart_killed_rabbitmq(rabbit)
            up = figures["up_at"] = time.monotonic()
            figures["outage_s"] = up - down
            wait_for_progress(watcher, tracker.training_id, RECOVERY_TIMEOUT_S)
            figures["live_after_broker_up_s"] = time.monotonic() - up
            stopped = stop_and_confirm(watcher, tracker.training_id)
            figures["stopped_at_epoch"] = stopped["stop"]["epoch"]
            orchestrate.stopped = stopped  # type: ignore[attr-defined]

    try:
        with captured_logs() as logs:
            history, tracker, warned = run_fit_with(key, rabbit.url, firestore_url, orchestrate)
    finally:
        ensure_rabbitmq_up(rabbit)
    # At most the one `live updates paused` warning (a retry failed during the outage).
    assert len([w for w in warned if "live updates paused" in w]) <= 1, warned
    assert all("live updates paused" in w or store_warning(w) for w in warned), warned
    reconnected = logs.first("reconnected to the broker")
    assert reconnected is not None
    figures["training_reconnected_after_broker_up_s"] = reconnected - figures.pop("up_at")
    check_outcome(history, tracker, firestore_url, key, orchestrate.stopped)  # type: ignore[attr-defined]
    record_figure(f"broker_{how}_mid_run", **figures)
