"""The Firestore emulator goes away while trainings run (docs/architecture.md,
invariants 1 and 2): no
epoch is lost. Records wait in the on-disk spool and are written when the store is back, by
the same training, or else by the next training or `dltrack sync`; `on_train_end` waits at most
`shutdown_timeout` for them and says how many it left.

The emulator keeps its documents in memory only; `DurableFirestore.restart` copies them out and
back behind a closed gate, as a real server's disk would (tests/reliability/support.py).
"""

from __future__ import annotations

import threading
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

from dltrack import Tracker, create_model
from dltrack.training.spool import Spool, spool_path
from dltrack.wire import config
from dltrack.wire.timing import FIRESTORE_RETRY_DEADLINE_S as RETRY_DEADLINE_S
from tests.helpers import pace_callback, run_cli, tiny_data, tiny_model, wait_until
from tests.reliability.support import (
    DurableFirestore,
    assert_every_epoch_once,
    captured_logs,
    dltrack_warnings,
    drive,
    keras_history_as_list,
    record_figure,
    stored_epochs,
    stored_training,
)

pytestmark = [pytest.mark.amqp, pytest.mark.firestore, pytest.mark.slow]

# Longer than a store call's retry deadline, so that the outage cannot hide inside one call's
# retries (the store thread would then never see it fail, and rightly say nothing). The
# emulator's own stop and start-up (1-8 s on a 2-core machine) come on top.
OUTAGE_S = RETRY_DEADLINE_S + 2.0


def spooled(store_url: str, training_id: str | None) -> int:
    """Rows of this training waiting in this test's spool."""
    spool = Spool(spool_path(config.resolve().spool_dir, store_url))
    try:
        return spool.count(training_id)
    finally:
        spool.close()


def test_emulator_restarted_mid_run(durable_firestore: DurableFirestore, amqp_url: str) -> None:
    store = durable_firestore.new_url()
    key = create_model("store restarted mid-run", store=store).key
    tracker = Tracker(key, broker=amqp_url, store=store)
    restarted, recovered = threading.Event(), threading.Event()
    figures: dict[str, Any] = {}
    errors: list[BaseException] = []

    def pace(epoch: int, batch: int) -> None:
        if not recovered.is_set():
            time.sleep(0.02)

    def orchestrate() -> None:
        try:
            wait_until(lambda: tracker._session is not None, 60, "the training to start")
            wait_until(
                lambda: len(stored_epochs(store, key, str(tracker.training_id))) >= 2,
                30,
                "two epochs in the store before the outage",
            )
            figures["epochs_before_outage"] = tracker._session.epoch  # type: ignore[union-attr]
            down = time.monotonic()
            durable_firestore.restart(down_for=OUTAGE_S)
            back = time.monotonic()
            restarted.set()
            figures["outage_s"] = back - down
            figures["spooled_at_return"] = spooled(store, tracker.training_id)
            wait_until(lambda: spooled(store, tracker.training_id) == 0, 60, "the spool to drain")
            figures["spool_drained_after_return_s"] = time.monotonic() - back
        except BaseException as exc:  # noqa: BLE001 - re-raised on the main thread
            errors.append(exc)
        finally:
            recovered.set()

    x, y = tiny_data(160)
    thread = threading.Thread(target=orchestrate, daemon=True)
    thread.start()
    with captured_logs() as logs, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = tiny_model().fit(
            x,
            y,
            epochs=120,
            batch_size=16,
            callbacks=[tracker, pace_callback(pace)],
            verbose=0,
        )
    thread.join(90)
    if errors:
        raise errors[0]
    epochs = keras_history_as_list(history)
    assert len(epochs) == 120  # as without dltrack
    assert figures["spooled_at_return"] > 0  # the outage really held records back
    assert_every_epoch_once(store, key, str(tracker.training_id), epochs)
    record = stored_training(store, key, str(tracker.training_id))
    assert record.status == "completed" and record.epochs_done == 120
    warned = dltrack_warnings(caught)
    assert len(warned) == 1 and "kept on disk" in warned[0], warned
    assert logs.first("the store is back") is not None
    record_figure("firestore_restarted_mid_run", **figures)


@pytest.mark.parametrize("later", ["dltrack sync", "next training"])
def test_store_down_at_train_end(
    later: str, durable_firestore: DurableFirestore, amqp_url: str
) -> None:
    store = durable_firestore.new_url()
    key = create_model("store down at train end", store=store).key
    tracker = Tracker(key, broker=amqp_url, store=store, shutdown_timeout=2.0)

    def cut_at_epoch_3(epoch: int, batch: int) -> None:
        if (epoch, batch) == (3, 0):
            durable_firestore.gate.close()

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run = drive(tracker, epochs=8, steps=5, step_delay=0.02, on_batch=cut_at_epoch_3)
        left = spooled(store, tracker.training_id)
        # As if the process had exited: its store thread, still in a call to the unreachable
        # store when fit() returned, gives up by itself (it would otherwise write the records
        # as soon as the store is back, before whoever comes next).
        # Only this training's thread: others of earlier tests may still be finishing theirs.
        wait_until(
            lambda: not any(t.is_alive() for t in tracker._threads),
            15,
            "the store thread to give up",
        )
    finally:
        durable_firestore.gate.open()
    assert len(run.history) == 8
    # Bounded: the timeout plus a little for handing the last records to the spool.
    assert run.train_end_s < 2.0 + 2.0, run.train_end_s
    # The count at the end; before it at most the outage itself (if it was noticed in time:
    # a call to an unreachable Firestore takes up to 6 s to fail).
    *before, last = dltrack_warnings(caught)
    assert f"{left} record(s)" in last and "dltrack sync" in last, (left, last)
    assert len(before) <= 1 and all("kept on disk" in w for w in before), before
    assert left > 0

    if later == "dltrack sync":
        done = run_cli("sync", "--store", store)
        assert done.returncode == 0, done.stderr
        assert f"wrote {left} spooled record(s) to the store; 0 left" in done.stdout
    else:
        nxt = Tracker(key, broker=amqp_url, store=store)
        assert len(drive(nxt, epochs=2, steps=3).history) == 2
        assert [e.epoch for e in stored_epochs(store, key, str(nxt.training_id))] == [0, 1]
    assert spooled(store, None) == 0
    assert_every_epoch_once(store, key, str(tracker.training_id), run.history)
    record = stored_training(store, key, str(tracker.training_id))
    assert record.status == "completed" and record.epochs_done == 8
    record_figure(
        f"store_down_at_train_end_then_{later.replace(' ', '_')}",
        shutdown_timeout_s=2.0,
        train_end_took_s=run.train_end_s,
        left_in_spool=left,
    )


def test_two_replayers_never_apply_rows_out_of_order(tmp_path: Path) -> None:
    """A training's own store thread, still replaying after fit() returned, and the next
    training (or `dltrack sync`) replaying the same spool: the rows land in order once."""
    from dltrack.backends.local_store import LocalStore
    from dltrack.training.store_writer import replay
    from dltrack.wire.keys import new_training_id

    class SlowStore(LocalStore):
        def update_training(self, model: str, training_id: str, **fields: Any) -> None:
            time.sleep(0.002)  # a remote store's round trip
            super().update_training(model, training_id, **fields)

    db = tmp_path / "store.db"
    key = LocalStore(db).create_model("m").key
    tid = new_training_id()
    spool = Spool(tmp_path / "spool.db")
    spool.append(key, tid, "start", {"params": {}, "started_at": time.time()})
    for n in range(1, 101):
        spool.append(key, tid, "update", {"epochs_done": n})
    spool.append(key, tid, "end", {"status": "completed", "epochs_done": 100})
    spool.close()

    def replayer() -> None:
        own = Spool(tmp_path / "spool.db")
        store = SlowStore(db)
        try:
            while own.count():
                replay(own, store)
        finally:
            own.close()
            store.close()

    threads = [threading.Thread(target=replayer) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    (training,) = LocalStore(db).list_trainings(key)
    assert (training.status, training.epochs_done) == ("completed", 100)
