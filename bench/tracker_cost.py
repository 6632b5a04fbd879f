"""dltrack's own cost in a fit(), measured directly instead of as a noisy difference of two
wall times: time in its hooks on the training thread, and CPU time of its background threads."""

from __future__ import annotations

import contextlib
import statistics
import time
from typing import Any
from unittest import mock

from . import driver
from .runner import tail
from .sandbox import Sandbox


def attribution(build_fit: Any, sandbox: Sandbox, backend: str, fits: int) -> dict[str, Any]:
    """Median over `fits` real fit()s of: time in each kind of hook, each background thread's
    own `time.thread_time()` when it ends, and the same sum between the first epoch's start
    and the last one's end (the steady state, without connecting and shutting down)."""
    from dltrack import Tracker
    from dltrack.training import broker_link, store_writer

    thread_cpu: dict[str, float] = {}

    def timed(cls: Any, name: str) -> Any:
        """`cls.run` (a thread's body) that notes the thread's own CPU time when it ends."""
        run = cls.run

        def timed_run(self: Any) -> None:
            try:
                run(self)
            finally:
                thread_cpu[name] = time.thread_time()

        return mock.patch.object(cls, "run", timed_run)

    spent: dict[str, float] = {}
    steady: dict[str, float] = {}

    class TimedTracker(Tracker):
        def _time(self, name: str, hook: Any, *args: Any) -> None:
            t0 = time.perf_counter_ns()
            hook(*args)
            spent[name] = spent.get(name, 0.0) + (time.perf_counter_ns() - t0) / 1e6

        def _mark(self, when: str) -> None:
            """Time, hook time and the background threads' CPU so far (per thread)."""
            cpu = 0.0
            for thread in self._threads:
                if thread.is_alive() and thread.ident is not None:
                    with contextlib.suppress(OSError):  # it ended just now
                        cpu += time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
            steady[f"{when}_wall"] = time.perf_counter()
            steady[f"{when}_cpu"] = cpu
            steady[f"{when}_hooks_ms"] = sum(spent.values())

        def on_train_begin(self, logs: Any = None) -> None:
            self._time("train_begin_ms", super().on_train_begin, logs)

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self._time("epoch_hooks_ms", super().on_epoch_begin, epoch, logs)
            if epoch == 0:
                self._mark("first")

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self._time("batch_hooks_ms", super().on_train_batch_end, batch, logs)

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self._time("epoch_hooks_ms", super().on_epoch_end, epoch, logs)
            if epoch == self.params["epochs"] - 1:
                self._mark("last")

        def on_train_end(self, logs: Any = None) -> None:
            self._time("train_end_ms", super().on_train_end, logs)

    url = sandbox.broker_url(backend)
    rows = []
    with timed(broker_link.BrokerLink, "broker"), timed(store_writer.StoreWriter, "store"):
        for _ in range(fits):
            spent.clear()
            steady.clear()
            thread_cpu.clear()
            tracker = TimedTracker(sandbox.model_key, broker=url, store=sandbox.local_url)
            wall = build_fit([tracker])
            row = {"fit_s": wall, **spent}
            row["broker_thread_cpu_ms"] = 1000 * thread_cpu.get("broker", 0.0)
            row["store_thread_cpu_ms"] = 1000 * thread_cpu.get("store", 0.0)
            row["share"] = (sum(spent.values()) + 1000 * sum(thread_cpu.values())) / 1000 / wall
            # From the first epoch's start to the last one's end: what a long training pays.
            span = steady["last_wall"] - steady["first_wall"]
            hooks = (steady["last_hooks_ms"] - steady["first_hooks_ms"]) / 1000
            row["steady_share"] = (hooks + steady["last_cpu"] - steady["first_cpu"]) / span
            # The background threads alone: issue 11's target (<= 0.3% of the fit).
            row["steady_background_share"] = (steady["last_cpu"] - steady["first_cpu"]) / span
            rows.append(row)
    keys = rows[0].keys()
    return {k: statistics.median(r[k] for r in rows) for k in keys} | {"fits": fits}


def hook_timing(sandbox: Sandbox, backend: str, calls: int) -> dict[str, Any]:
    """µs per `on_train_batch_end` on the training thread, on a real, running session."""
    url = sandbox.broker_url(backend)
    tracker = driver.tracker(sandbox.model_key, url, sandbox.local_url, 1, calls)
    tracker.on_train_begin()
    tracker.on_epoch_begin(0)
    time.sleep(0.5)  # let the background threads connect: measure the steady state
    clock = time.perf_counter_ns
    hook = tracker.on_train_batch_end
    logs = {"loss": 0.25, "accuracy": 0.5}
    durations = []
    for i in range(calls):
        t0 = clock()
        hook(i, logs)
        durations.append(clock() - t0)
    floor = []
    for _ in range(calls):  # the timer's own cost, for reference
        t0 = clock()
        floor.append(clock() - t0)
    tracker.on_epoch_end(0, logs)
    tracker.on_train_end(logs)
    return {
        "hook_us": tail([d / 1000 for d in durations]),
        "timer_floor_us": tail([d / 1000 for d in floor]),
    }
