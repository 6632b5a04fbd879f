"""Many viewers, one fast training, one stop (docs/architecture.md, invariants 4 and 5), on the real
broker and store: every viewer sees every epoch; progress reaches the broker coalesced to at
most 10 messages a second however fast the batches come; a stop from one viewer is
acknowledged, honoured after the current batch, shown to every viewer and recorded `stopped`
with where it happened."""

from __future__ import annotations

import collections
import json
import threading
import time
from typing import Any

import pytest

from dltrack import Tracker, Watcher, create_model
from dltrack.backends import open_broker
from tests.helpers import JsonViewer, wait_until
from tests.reliability.support import drive, record_figure, stored_epochs, stored_training

pytestmark = [pytest.mark.amqp, pytest.mark.firestore, pytest.mark.slow]

STOP_AT_EPOCH = 12


def view(snap: dict[str, Any], training_id: str) -> dict[str, Any] | None:
    return next((t for t in snap["trainings"] if t["training_id"] == training_id), None)


def test_every_viewer_sees_every_epoch_and_the_stop(amqp_url: str, firestore_url: str) -> None:
    key = create_model("fan-out", store=firestore_url).key
    urls = ("--broker", amqp_url, "--store", firestore_url)
    watchers = [Watcher(key, broker=amqp_url, store=firestore_url).start() for _ in range(2)]
    terminal = JsonViewer(key, *urls)
    heard: list[tuple[float, dict[str, Any]]] = []
    listening, done = threading.Event(), threading.Event()

    def tap() -> None:  # a raw feed: what really crosses the broker
        broker = open_broker(amqp_url)
        feed = broker.subscribe_updates(key)
        listening.set()
        while not done.is_set():
            heard.extend((time.monotonic(), json.loads(b)) for b in feed.poll(0.2))
        broker.close()

    tapper = threading.Thread(target=tap, daemon=True)
    tapper.start()
    assert listening.wait(10)
    wait_until(lambda: terminal.latest() is not None, 30, "the terminal viewer")
    tracker = Tracker(key, broker=amqp_url, store=firestore_url)
    sent: dict[str, Any] = {}

    def stop_from_first_viewer(epoch: int, batch: int) -> None:
        if (epoch, batch) == (STOP_AT_EPOCH, 100) and not sent:
            sent["id"] = watchers[0].stop_training(tracker.training_id)
            sent["at"] = time.monotonic()
        elif sent:
            # Slower batches once the stop is on its way: the rest of the epoch then lasts
            # ~1.5 s, so a loaded machine's round trip still lands in the epoch it was sent in.
            time.sleep(0.005)

    try:
        run = drive(tracker, 1_000, 400, step_delay=0.0005, on_batch=stop_from_first_viewer)
        tid = str(tracker.training_id)

        def stopped(snap: dict[str, Any]) -> bool:
            return (view(snap, tid) or {}).get("status") == "stopped"

        snaps = [w.wait_for(stopped, 15) for w in watchers]
        wait_until(lambda: stopped(terminal.latest() or {"trainings": []}), 15, "the terminal")
        snaps.append(terminal.latest())
        acked = watchers[0].wait_for(
            lambda s: any(c["state"] in ("acknowledged", "done") for c in s["commands"]), 5
        )
    finally:
        done.set()
        tapper.join(10)
        terminal.kill()
        for w in watchers:
            w.close()

    # Honoured after the current batch, in the epoch it was sent in.
    assert run.model.stop_training and len(run.history) == STOP_AT_EPOCH + 1
    record = stored_training(firestore_url, key, tid)
    assert record.status == "stopped" and record.stop["command_id"] == sent["id"]
    assert record.stop["epoch"] == STOP_AT_EPOCH and 100 < record.stop["step"] < 400
    assert "@" in record.stop["sender"]  # who asked: user@host (python)
    assert [e.epoch for e in stored_epochs(firestore_url, key, tid)] == list(
        range(len(run.history))
    )

    # Every viewer (two in this process, one in its own) shows the same end and every epoch.
    assert acked is not None
    for snap in snaps:
        assert snap is not None
        t = view(snap, tid)
        assert t is not None and t["status"] == "stopped"
        assert [e["epoch"] for e in t["epochs"]] == list(range(len(run.history)))
        assert (t["stop"]["epoch"], t["stop"]["step"]) == (
            record.stop["epoch"],
            record.stop["step"],
        )

    # What crossed the broker: every epoch end once, progress coalesced.
    by_type = collections.Counter(m["type"] for _, m in heard if m["training_id"] == tid)
    assert by_type["epoch_end"] == len(run.history)
    assert by_type["train_end"] == 1 and by_type["ack"] == 1
    # By the sender's clock: a loaded machine may deliver a second's messages in a burst.
    progress = [m["ts"] for _, m in heard if m["type"] == "progress"]
    per_second = collections.Counter(int(ts - progress[0]) for ts in progress)
    busiest = max(per_second.values())
    assert busiest <= 11  # ≤ 10/s, plus one for where a window boundary falls
    ack_at = next(at for at, m in heard if m["type"] == "ack")
    record_figure(
        "fanout",
        batches=sum(400 for _ in run.history),
        train_s=progress[-1] - progress[0],
        progress_messages=len(progress),
        busiest_second=busiest,
        stop_to_ack_ms=(ack_at - sent["at"]) * 1000,
    )
