"""Training processes without Keras' fit(): plain-Python loops that drive real `Tracker`s.

Each function here is the target of a child process (multiprocessing, spawn), so the Tracker
runs in a process of its own, as it does for a user, while the parent plays the viewer. Every
batch end is stamped with `time.monotonic()` (one clock for all processes on Linux) and the
stamp travels in the logs as `t_sent`, so a viewer can tell how old what it shows is.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any, cast

CTX = multiprocessing.get_context("spawn")  # a fresh interpreter, as a user's training is

STORE_WRITES = frozenset({"start_training", "update_training", "write_epoch", "delete_training"})


class FakeModel:
    """What the Tracker touches on a model: a name, `count_params`, and `stop_training`, whose
    setting is time-stamped."""

    name = "fake"
    optimizer = None
    stop_set_at: float | None = None

    def count_params(self) -> int:
        return 0

    @property
    def stop_training(self) -> bool:
        return self.stop_set_at is not None

    @stop_training.setter
    def stop_training(self, value: bool) -> None:
        if value and self.stop_set_at is None:
            self.stop_set_at = time.monotonic()


def start(target: Callable[..., None], *args: Any) -> BaseProcess:
    """`target(*args)` in a child process."""
    process = CTX.Process(target=target, args=args, daemon=True)
    process.start()
    return process


def tracker(model_key: str, broker: str, store: str, epochs: int, steps: int) -> Any:
    """A real Tracker on a fake model, with fit()'s parameters."""
    from dltrack import Tracker

    tracker = Tracker(model_key, broker=broker, store=store, handle_interrupt=False)
    tracker.set_model(FakeModel())
    tracker.set_params({"epochs": epochs, "steps": steps, "verbose": 0})
    return tracker


def paced(rate: float, start: float, i: int) -> float:
    """Sleep until batch i is due, at `rate` batches per second from `start`; then how late
    it is (s)."""
    due = start + i / rate
    delay = due - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    return time.monotonic() - due


def train(
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
    round-robin from one loop; reports every batch's end time, how late the loop ran, and
    each training's store writes (which must grow with epochs, never with batches)."""
    import dltrack.training.store_writer as store_writer
    from dltrack.backends import open_store
    from dltrack.backends.store import Store

    counts: dict[str, dict[str, int]] = {}

    def counting_open_store(url: str) -> Store:
        return cast(Store, CountingStore(open_store(url), counts))

    # The store thread opens its Store through this name; the process ends with the run.
    vars(store_writer)["open_store"] = counting_open_store
    batches = max(1, int(rate * seconds))
    epochs = -(-batches // steps)
    trackers = [tracker(model_key, broker, store, epochs, steps) for _ in range(trainings)]
    ready.set()
    go.wait()
    cpu0 = time.process_time()
    for t in trackers:
        t.on_train_begin()
    start = time.monotonic()
    ends, late = [], []
    for i in range(batches):
        epoch, step = divmod(i, steps)
        late.append(paced(rate, start, i))
        now = time.monotonic()
        ends.append(now)
        for t in trackers:
            if step == 0:
                t.on_epoch_begin(epoch)
            t.on_train_batch_end(step, {"loss": 1.0 / (i + 1), "t_sent": now})
            if step == steps - 1 or i == batches - 1:
                t.on_epoch_end(epoch, {"loss": 1.0 / (i + 1)})
    loop_s = time.monotonic() - start
    for t in trackers:
        t.on_train_end()
    out.put(
        {
            "training_ids": [t.training_id for t in trackers],
            "ends": ends,
            "batches": batches,
            "epochs": epochs,
            "loop_s": loop_s,
            "late_p99_ms": 1000 * sorted(late)[int(0.99 * (len(late) - 1))],
            "cpu_s": time.process_time() - cpu0,
            "left_in_spool": sum(t._session.left_in_spool for t in trackers if t._session),
            # Every training's rows, not just this process's: the spool is shared, so a row
            # may be written by any process's store thread.
            "store_calls": counts,
        }
    )


class CountingStore:
    """Wraps a Store and counts its write calls per training."""

    def __init__(self, store: Any, counts: dict[str, dict[str, int]]) -> None:
        self._store = store
        self._counts = counts

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)
        if name == "write_batch":  # each write counted as the call it stands for
            return self._batch(method)
        if name not in STORE_WRITES:
            return method

        def counted(model_key: str, training_id: str, *args: Any, **kwargs: Any) -> Any:
            per = self._counts.setdefault(training_id, {})
            per[name] = per.get(name, 0) + 1
            return method(model_key, training_id, *args, **kwargs)

        return counted

    def _batch(self, method: Any) -> Any:
        calls = {"epoch": "write_epoch", "event": "add_event", "update": "update_training"}

        def counted(model_key: str, training_id: str, writes: Any) -> Any:
            per = self._counts.setdefault(training_id, {})
            for name in (calls[kind] for kind, _ in writes):
                if name in STORE_WRITES:
                    per[name] = per.get(name, 0) + 1
            return method(model_key, training_id, writes)

        return counted


def serve_stops(
    model_key: str, broker: str, store: str, rate: float, requests: Any, out: Any
) -> None:
    """Trainings on demand, each running until a stop arrives: for the stop benchmark.

    For every item on `requests` (until None), start a training, report its id, run batches
    at `rate` until the Tracker sets `stop_training` (or 20 s pass), report when that was."""
    while requests.get() is not None:
        steps = 100_000
        t = tracker(model_key, broker, store, 1, steps)
        t.on_train_begin()
        t.on_epoch_begin(0)
        out.put({"training_id": t.training_id})
        start = time.monotonic()
        for i in range(steps):
            paced(rate, start, i)
            t.on_train_batch_end(i, {"loss": 0.5})
            if t.model.stop_training or time.monotonic() - start > 20.0:
                break
        t.on_epoch_end(0, {"loss": 0.5})
        t.on_train_end()
        out.put({"stop_set_at": t.model.stop_set_at})


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
    trainings = len(watcher.snapshot()["trainings"])
    watcher.close()
    out.put({"cpu_s": cpu, "wall_s": wall, "listener_calls": calls[0], "trainings_seen": trainings})
