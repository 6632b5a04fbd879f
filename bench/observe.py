"""The viewer side of the latency benchmarks: a raw update feed and a real Watcher, each
recording when it learnt of which batch (monotonic time, global batch index, and the batch's
own end stamp `t_sent` where the message carries it)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

Observation = tuple[float, int, float | None]  # (received at, global batch index, t_sent)


def carried(message: dict[str, Any], steps: int) -> tuple[int, float | None] | None:
    """The global index of the newest batch an update reports, and that batch's end stamp."""
    kind = message["type"]
    if kind == "progress":
        return message["epoch"] * steps + message["step"], message["logs"].get("t_sent")
    if kind == "epoch_end":
        return (message["epoch"] + 1) * steps, None
    if kind == "heartbeat":
        snap = message["snapshot"]
        if isinstance(snap.get("epoch"), int):
            logs = snap.get("logs") or {}
            return snap["epoch"] * steps + (snap.get("step") or 0), logs.get("t_sent")
    return None


class RawFeed:
    """`Broker.subscribe_updates` parsed with `protocol.parse_update`, in a thread that owns
    the connection; counts messages and bytes too."""

    def __init__(self, broker_url: str, model_key: str, steps: int) -> None:
        self.broker_url = broker_url
        self.model_key = model_key
        self.steps = steps
        self.seen: list[Observation] = []
        self.messages = 0
        self.bytes = 0
        self.by_type: dict[str, int] = {}
        self._closing = threading.Event()
        self._subscribed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-raw-feed", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> RawFeed:
        self._thread.start()
        self._subscribed.wait(20)
        if self.error is not None:
            raise self.error
        return self

    def _run(self) -> None:
        from dltrack.backends import open_broker
        from dltrack.wire.protocol import parse_update

        try:
            broker = open_broker(self.broker_url)
            feed = broker.subscribe_updates(self.model_key)
        except BaseException as exc:  # noqa: BLE001 - handed to start()
            self.error = exc
            self._subscribed.set()
            return
        self._subscribed.set()
        try:
            while not self._closing.is_set():
                for raw in feed.poll(0.05):
                    now = time.monotonic()
                    self.messages += 1
                    self.bytes += len(raw)
                    message = parse_update(raw)
                    if message is None:
                        continue
                    self.by_type[message["type"]] = self.by_type.get(message["type"], 0) + 1
                    found = carried(message, self.steps)
                    if found is not None:
                        self.seen.append((now, found[0], found[1]))
        finally:
            feed.close()
            broker.close()

    def close(self) -> None:
        self._closing.set()
        self._thread.join(timeout=10)


class WatcherView:
    """A real `Watcher` with a listener, as the widget and the terminal view use it."""

    def __init__(self, broker_url: str, store_url: str, model_key: str, steps: int) -> None:
        from dltrack import Watcher

        self.steps = steps
        self.seen: list[Observation] = []
        self.calls: list[float] = []  # when the listener was called
        self.watcher = Watcher(model_key, broker=broker_url, store=store_url)

    def start(self) -> WatcherView:
        self.watcher.add_listener(self._on_snapshot)
        self.watcher.start()
        return self

    def _on_snapshot(self, snap: dict[str, Any]) -> None:
        now = time.monotonic()
        self.calls.append(now)
        for t in snap["trainings"]:
            current = t.get("current")
            if current:
                index = current["epoch"] * self.steps + current["step"]
                self.seen.append((now, index, (current.get("logs") or {}).get("t_sent")))
            else:
                self.seen.append((now, t["epochs_done"] * self.steps, None))

    def close(self) -> None:
        self.watcher.close()


def freshness(ends: Sequence[float], seen: Sequence[Observation]) -> list[float]:
    """For every batch: seconds from its end to the first observation of it or a later one.

    Batches never observed (the run's last few, if the final message was lost) are left out."""
    seen = sorted(seen)
    out = []
    j, best = 0, -1
    for index, end in enumerate(ends, start=1):  # batch i is reported as step i (1-based)
        while best < index and j < len(seen):
            best = max(best, seen[j][1])
            j += 1
        if best < index:
            break
        # seen[j-1] is the first observation that reached this batch; it cannot predate it.
        out.append(max(0.0, seen[j - 1][0] - end))
    return out


def ages(seen: Sequence[Observation]) -> list[float]:
    """For every observation carrying a batch stamp: how old that batch was on arrival."""
    return [received - sent for received, _, sent in seen if sent is not None]
