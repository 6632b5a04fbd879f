"""Memory and disk stay bounded whatever the batch rate or the outage (docs/architecture.md,
invariant 3).

Ten minutes at 1000 batches a second with the broker and the store both unreachable: 600,000
batch hooks run as fast as Python allows, against a simulated clock that advances 1 ms per
batch, so that dltrack's own timers (heartbeats, progress coalescing, reconnect backoff, the
store's `last_seen`) see ten minutes go by. Measured: the hand-off queues, the spool, and the
Python heap (tracemalloc), not wall time.
"""

from __future__ import annotations

import time
import tracemalloc
import warnings
from typing import Any

import pytest

from dltrack import Tracker, create_model
from dltrack.training.spool import Spool, spool_path
from dltrack.wire import config
from tests.helpers import run_cli
from tests.reliability.support import (
    DurableFirestore,
    FakeModel,
    assert_every_epoch_once,
    epoch_logs,
    record_figure,
)
from tests.servers import services

pytestmark = [pytest.mark.firestore, pytest.mark.slow]

EPOCHS, STEPS = 100, 6_000  # 600,000 batches: 10 minutes at 1000/s
SAMPLE_AT = 1_000  # the heap is read at this batch and at the last one of every epoch


class SimulatedClock:
    """A stand-in for the `time` module inside dltrack: 1 ms passes per batch."""

    def __init__(self) -> None:
        self.start_wall, self.start_mono = time.time(), time.monotonic()
        self.batches = 0
        self.sleep = time.sleep
        self.perf_counter = time.perf_counter

    def time(self) -> float:
        return self.start_wall + self.batches / 1000

    def monotonic(self) -> float:
        return self.start_mono + self.batches / 1000


def test_ten_minutes_at_1000_batches_per_second_with_everything_down(
    durable_firestore: DurableFirestore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Loaded before measuring the heap: their import is no part of what a batch costs.

    store = durable_firestore.new_url()
    key = create_model("bounded", store=store).key
    clock = SimulatedClock()
    for module in (
        "training.tracker",
        "training.broker_link",
        "training.session",
        "backends.reconnect",
        "training.store_writer",
        "wire.protocol",
    ):
        monkeypatch.setattr(f"dltrack.{module}.time", clock)
    broker = f"amqp://guest:guest@127.0.0.1:{services.free_port()}/%2F"  # nobody listens
    tracker = Tracker(key, broker=broker, store=store, shutdown_timeout=1.0)
    model = FakeModel()
    tracker.set_model(model)
    tracker.set_params({"epochs": EPOCHS, "steps": STEPS, "verbose": 0})
    samples: list[dict[str, Any]] = []
    logs = {"loss": 0.5}

    durable_firestore.gate.close()
    try:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            tracker.on_train_begin()
            session = tracker._session
            assert session is not None
            tracemalloc.start()
            started = time.perf_counter()
            for epoch in range(EPOCHS):
                tracker.on_epoch_begin(epoch)
                for batch in range(STEPS):
                    clock.batches += 1
                    tracker.on_train_batch_begin(batch)
                    tracker.on_train_batch_end(batch, logs)
                    if batch in (SAMPLE_AT, STEPS - 1):
                        samples.append(
                            {
                                "events": len(session.events),
                                "store_ops": session.store_ops.qsize(),
                                "heap": tracemalloc.get_traced_memory()[0],
                            }
                        )
                tracker.on_epoch_end(epoch, epoch_logs(epoch))
            hooks_s = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            tracker.on_train_end()
        spool = Spool(spool_path(config.resolve().spool_dir, store))
        try:
            spooled = spool.count()
        finally:
            spool.close()
        spool_bytes = sum(p.stat().st_size for p in config.resolve().spool_dir.glob("*"))
    finally:
        durable_firestore.gate.open()

    # The queues between the training and dltrack's threads hold events, never batches.
    assert max(s["events"] for s in samples) <= 2 * EPOCHS + 2
    assert max(s["store_ops"] for s in samples) <= 2 * EPOCHS + 2
    # The spool: a row per record (start, an epoch and an update per epoch, the end and the
    # event that says why it ended), whatever the number of batches. On disk that is the
    # table plus SQLite's write-ahead log, which SQLite checkpoints at 1000 pages (4 MB), so
    # the files stay under ~5 MB in any case.
    assert spooled == 1 + 2 * EPOCHS + 2
    assert spool_bytes < 5 * 2**20
    # The heap does not grow with batches: over the last 5000 batches of an epoch (no epoch
    # record added meanwhile) it stays put, give or take what dltrack's threads hold at that
    # moment; the median over 100 epochs would show even a few bytes per batch.
    within = sorted(b["heap"] - a["heap"] for a, b in zip(samples[::2], samples[1::2], strict=True))
    assert within[len(within) // 2] < 16 * 1024
    # It grows with epochs only (each epoch's record is kept for heartbeats): a few kB each.
    first_tenth = samples[len(samples) // 10]["heap"]
    per_epoch = (samples[-1]["heap"] - first_tenth) / (EPOCHS * 0.9)
    assert per_epoch < 20 * 1024
    assert peak < 16 * 1024 * 1024

    # And nothing is lost: the spool goes to the store once it is reachable.
    done = run_cli("sync", "--store", store, timeout=120)
    assert done.returncode == 0, done.stderr
    history = [epoch_logs(e) for e in range(EPOCHS)]
    assert_every_epoch_once(store, key, str(tracker.training_id), history)
    record_figure(
        "bounded_600k_batches",
        batches=EPOCHS * STEPS,
        max_events=max(s["events"] for s in samples),
        max_store_ops=max(s["store_ops"] for s in samples),
        spool_rows=spooled,
        spool_kb=spool_bytes / 1024,
        heap_growth_within_epoch_median_kb=within[len(within) // 2] / 1024,
        heap_growth_per_epoch_kb=per_epoch / 1024,
        heap_peak_mb=peak / 2**20,
        hooks_wall_s=hooks_s,
    )
