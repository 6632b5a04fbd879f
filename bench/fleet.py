"""The two sides of bench/scale.py, each the target of a child process.

`trainings`: many synthetic trainings in one process. Each is the product's own broker thread
(`BrokerLink.run` and its relay thread over a `TrainingSession`, with one RabbitMQ connection of
its own, exactly as a Tracker starts them) fed by a paced loop of synthetic batches. Not whole
Trackers: a Tracker also starts a store thread and needs Keras, and what is measured here is the
broker; 1,000 store threads writing one SQLite file would measure SQLite. The loop does what the
Tracker's hooks do to the session (tracker.py), through the session's public methods.

`viewers`: real Watchers (what the widget and `dltrack watch` use), each on a model of its own,
recording how old the batch they show is (batch end -> listener call).
"""

from __future__ import annotations

import os
import random
import resource
import threading
import time
from typing import Any

RATE = 10.0  # batches per second per training
STEPS = 300  # batches per epoch: 30 s epochs
CONNECT_WAIT_S = 120.0


class Synthetic:
    """One training: a session, its broker thread and relay thread, and a batch counter."""

    def __init__(self, model_key: str, broker_url: str, store_url: str) -> None:
        from dltrack.training.broker_link import BrokerLink
        from dltrack.training.fit_frame import FitFrame
        from dltrack.training.session import TrainingSession
        from dltrack.wire import config
        from dltrack.wire.keys import new_training_id

        self.model_key = model_key
        params = {"epochs": 10_000, "steps": STEPS, "synthetic": True}
        settings = config.resolve(broker_url, store_url)
        s = TrainingSession(settings, model_key, new_training_id(), params, shutdown_timeout=5.0)
        self.session = s
        self.link = BrokerLink(s, FitFrame(None, 0))  # no fit() whose exit it could notice
        # Start mid-epoch at random, so that 1,000 trainings' epoch ends do not all coincide.
        self.epoch, self.step = 0, random.randrange(STEPS)
        s.hand_over("train_begin", {"params": params})
        self._begin_epoch()
        self.thread = threading.Thread(target=self.link.run, daemon=True)
        self.thread.start()
        threading.Thread(target=self.link.relay, daemon=True).start()

    def _begin_epoch(self) -> None:
        s = self.session
        s.epoch, s.epoch_started_at = self.epoch, time.time()
        s.hand_over("epoch_begin", {"epoch": self.epoch})

    def batch(self, ended: float) -> None:
        """The batch-end hook's work; `ended` (monotonic) travels as `t_sent` for the viewer."""
        from dltrack.training.session import Progress
        from dltrack.wire.records import EpochRecord

        s = self.session
        self.step += 1
        now = time.time()
        logs = {"loss": 1.0 / self.step, "t_sent": ended}
        s.latest = Progress(self.epoch, self.step, STEPS, logs, now)
        s.batch_ended(now)
        if self.step < STEPS:
            return
        record = EpochRecord(self.epoch, {"loss": 1.0 / STEPS}, STEPS, s.epoch_started_at, now)
        s.epochs.append(record.to_json())
        s.hand_over("epoch_end", dict(record.to_json()))  # no store thread: no store op
        self.epoch, self.step = self.epoch + 1, 0
        self._begin_epoch()

    def end(self) -> None:
        from dltrack.training.session import finish

        finish(self.session, "completed")

    @property
    def connected(self) -> bool:
        return self.session.broker_connected


def trainings(broker_url: str, store_url: str, control: Any, replies: Any) -> None:
    """Serve `control` (grow KEYS / end KEYS / cpu / stop) while every training runs at RATE."""
    # One connection per training, as the product makes them: a socket, and pika's wake-up
    # pair and poller, per training. Take every file descriptor the hard limit allows.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    running: list[Synthetic] = []
    connecting: list[Synthetic] = []
    grow_started = 0.0
    tick, start = 0, time.monotonic()
    while True:
        due = start + tick / RATE
        time.sleep(max(0.0, due - time.monotonic()))
        tick += 1
        now = time.monotonic()
        for t in running:
            t.batch(now)
        if connecting and (
            all(t.connected for t in connecting) or now - grow_started > CONNECT_WAIT_S
        ):
            ok = sum(t.connected for t in connecting)
            replies.put({"grown": len(connecting), "connected": ok, "took_s": now - grow_started})
            connecting = []
        while not control.empty():
            kind, keys = control.get()
            if kind == "grow":
                grow_started = time.monotonic()
                connecting = [Synthetic(k, broker_url, store_url) for k in keys]
                running += connecting
            elif kind == "end":
                gone = [t for t in running if t.model_key in keys]
                for t in gone:
                    t.end()
                for t in gone:
                    t.thread.join(timeout=10)
                running = [t for t in running if t not in gone]
                replies.put({"ended": len(gone)})
            elif kind == "cpu":
                replies.put(
                    {
                        "cpu_s": time.process_time(),
                        "loop_cpu_s": time.thread_time(),  # this loop: the synthetic hooks
                        "trainings": len(running),
                        "connected": sum(t.connected for t in running),
                        "threads": threading.active_count(),
                        "fds": len(os.listdir("/proc/self/fd")),
                        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                        "fd_limit": hard,
                    }
                )
            elif kind == "stop":
                for t in running:
                    t.end()
                for t in running:
                    t.thread.join(timeout=10)
                replies.put({"stopped": len(running)})
                return


def viewers(broker_url: str, store_url: str, control: Any, replies: Any) -> None:
    """Serve `control`: open KEYS (a Watcher on each), close (T0, T1) -> ages in that window."""
    from .observe import WatcherView, ages

    views: list[WatcherView] = []
    cpu0 = 0.0
    while True:
        kind, arg = control.get()
        if kind == "open":
            opened = time.monotonic()
            views = [WatcherView(broker_url, store_url, key, STEPS).start() for key in arg]
            while time.monotonic() - opened < 60 and not all(ages(v.seen) for v in views):
                time.sleep(0.1)
            cpu0 = time.process_time()
            seeing = sum(bool(ages(v.seen)) for v in views)
            replies.put({"seeing": seeing, "took_s": time.monotonic() - opened})
        elif kind == "close":
            t0, t1 = arg
            window = [ages([o for o in v.seen if t0 <= o[0] <= t1]) for v in views]
            cpu = time.process_time() - cpu0
            for v in views:
                v.close()
            views = []
            replies.put({"ages_s": window, "cpu_s": cpu})
        elif kind == "stop":
            return
