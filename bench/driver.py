"""Training processes without Keras' fit(): plain-Python loops that drive real `Tracker`s.

Each function here is the target of a child process (multiprocessing, spawn), so the Tracker
runs in a process of its own, as it does for a user, while the parent plays the viewer. Every
batch end is stamped with `time.monotonic()` (one clock for all processes on Linux) and the
stamp travels in the logs as `t_sent`, so a viewer can tell how old what it shows is.
"""

from __future__ import annotations

import time
from typing import Any

from .fake_model import attach


def paced(rate: float, start: float, i: int) -> None:
    """Sleep until batch i is due, at `rate` batches per second from `start`."""
    delay = start + i / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def train(
    model_key: str,
    broker: str,
    store: str,
    rate: float,
    seconds: float,
    steps: int,
    ready: Any,
    go: Any,
    out: Any,
    pacing: str = "current",
) -> None:
    """One training at `rate` batches/s for `seconds`; sends back every batch's end time.

    `pacing="send-time"` swaps in the Tracker's former progress pacing (bench/pacing.py)."""
    from dltrack import Tracker

    if pacing == "send-time":
        from .pacing import use_send_time_pacing

        use_send_time_pacing()

    batches = max(1, int(rate * seconds))
    epochs = -(-batches // steps)
    tracker = Tracker(model_key, broker=broker, store=store, handle_interrupt=False)
    attach(tracker, epochs, steps)
    ready.set()
    go.wait()
    tracker.on_train_begin()
    ends: list[float] = []
    start = time.monotonic()
    for i in range(batches):
        epoch, step = divmod(i, steps)
        if step == 0:
            tracker.on_epoch_begin(epoch)
        paced(rate, start, i)
        now = time.monotonic()
        tracker.on_train_batch_end(step, {"loss": 1.0 / (i + 1), "t_sent": now})
        ends.append(now)
        if step == steps - 1 or i == batches - 1:
            tracker.on_epoch_end(epoch, {"loss": 1.0 / (i + 1)})
    tracker.on_train_end()
    out.put({"training_id": tracker.training_id, "ends": ends, "steps": steps})


def serve_stops(
    model_key: str, broker: str, store: str, rate: float, requests: Any, out: Any
) -> None:
    """Trainings on demand, each running until a stop arrives: for the stop benchmark.

    For every item on `requests` (until None), start a training, report its id, run batches
    at `rate` until the Tracker sets `stop_training` (or 20 s pass), report when that was."""
    from dltrack import Tracker

    while requests.get() is not None:
        steps = 100_000
        tracker = Tracker(model_key, broker=broker, store=store, handle_interrupt=False)
        model = attach(tracker, 1, steps)
        tracker.on_train_begin()
        tracker.on_epoch_begin(0)
        out.put({"training_id": tracker.training_id})
        start = time.monotonic()
        for i in range(steps):
            paced(rate, start, i)
            tracker.on_train_batch_end(i, {"loss": 0.5})
            if model.stop_training or time.monotonic() - start > 20.0:
                break
        tracker.on_epoch_end(0, {"loss": 0.5})
        tracker.on_train_end()
        out.put({"stop_set_at": model.stop_set_at, "batches": i + 1})


class CountingStore:
    """Wraps a Store and counts its calls per training, to show writes are O(epochs)."""

    WRITES = frozenset({"start_training", "update_training", "write_epoch", "delete_training"})

    def __init__(self, store: Any, counts: dict[str, dict[str, int]]) -> None:
        self._store = store
        self._counts = counts

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)
        if name not in self.WRITES:
            return method

        def counted(model_key: str, training_id: str, *args: Any, **kwargs: Any) -> Any:
            per = self._counts.setdefault(training_id, {})
            per[name] = per.get(name, 0) + 1
            return method(model_key, training_id, *args, **kwargs)

        return counted


def train_many(
    model_key: str,
    broker: str,
    store: str,
    trainings: int,
    rate: float,
    seconds: float,
    steps: int,
    ready: Any,
    go: Any,
    out: Any,
) -> None:
    """`trainings` concurrent Trackers in this process, each at `rate` batches/s, driven
    round-robin from one loop; reports store calls per training and how late the loop ran."""
    import dltrack.training.store_writer
    from dltrack import Tracker

    counts: dict[str, dict[str, int]] = {}
    real_open_store = dltrack.training.store_writer.open_store
    dltrack.training.store_writer.open_store = lambda url: CountingStore(
        real_open_store(url), counts
    )
    batches = max(1, int(rate * seconds))
    epochs = -(-batches // steps)
    trackers = []
    for _ in range(trainings):
        tracker = Tracker(model_key, broker=broker, store=store, handle_interrupt=False)
        attach(tracker, epochs, steps)
        trackers.append(tracker)
    ready.set()
    go.wait()
    cpu0 = time.process_time()
    for tracker in trackers:
        tracker.on_train_begin()
    start = time.monotonic()
    late = []
    for i in range(batches):
        epoch, step = divmod(i, steps)
        paced(rate, start, i)
        late.append(time.monotonic() - (start + i / rate))
        now = time.monotonic()
        for tracker in trackers:
            if step == 0:
                tracker.on_epoch_begin(epoch)
            tracker.on_train_batch_end(step, {"loss": 1.0 / (i + 1), "t_sent": now})
            if step == steps - 1 or i == batches - 1:
                tracker.on_epoch_end(epoch, {"loss": 1.0 / (i + 1)})
    loop_s = time.monotonic() - start
    left = 0
    for tracker in trackers:
        tracker.on_train_end()
        session = tracker._session
        left += session.left_in_spool if session is not None else 0
    ids = [t.training_id for t in trackers]
    out.put(
        {
            "training_ids": ids,
            "batches": batches,
            "epochs": epochs,
            "loop_s": loop_s,
            "late_p99_ms": 1000 * sorted(late)[int(0.99 * (len(late) - 1))],
            "cpu_s": time.process_time() - cpu0,
            "left_in_spool": left,
            # Every training's rows, not just this process's: the spool is shared, so a row
            # may be written by any process's store thread.
            "store_calls": counts,
        }
    )


def view(model_key: str, broker: str, store: str, ready: Any, done: Any, out: Any) -> None:
    """A real Watcher in a process of its own, for the viewer's CPU time."""
    from dltrack import Watcher

    calls = [0]
    watcher = Watcher(model_key, broker=broker, store=store)
    watcher.add_listener(lambda snap: calls.__setitem__(0, calls[0] + 1))
    watcher.start()
    ready.set()
    cpu0, wall0 = time.process_time(), time.monotonic()
    done.wait()
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    snap = watcher.snapshot()
    watcher.close()
    out.put(
        {
            "cpu_s": cpu,
            "wall_s": wall,
            "listener_calls": calls[0],
            "trainings_seen": len(snap["trainings"]),
        }
    )
