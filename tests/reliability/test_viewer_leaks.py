"""Viewers come and go while a training runs (docs/architecture.md,
invariants 3 and 4): a viewer's queue
is exclusive, auto-delete and bounded, so a `dltrack watch` that is SIGKILLed or a widget that is
closed leaves nothing behind on the broker, and the training never notices either."""

from __future__ import annotations

import logging
import threading
import time
import warnings
from typing import Any

import pytest

from dltrack import Tracker, create_model
from tests.helpers import JsonViewer, wait_until
from tests.reliability.support import (
    Run,
    assert_every_epoch_once,
    captured_logs,
    dltrack_warnings,
    drive,
    list_queues,
    record_figure,
)
from tests.servers import PrivateRabbitMQ

pytestmark = [pytest.mark.amqp, pytest.mark.firestore, pytest.mark.slow]


def stop_once_done(tracker: Tracker, done: threading.Event, epoch: int) -> None:
    """Once the test has seen what it needs, end the training after the first epoch."""
    if done.is_set():
        tracker.model.stop_training = epoch > 0


def queue_details(rabbit: PrivateRabbitMQ) -> dict[str, dict[str, str]]:
    return list_queues(rabbit, "exclusive", "auto_delete", "arguments")


def test_killed_viewer_and_closed_widget_leave_no_queue(
    rabbit: PrivateRabbitMQ, firestore_url: str
) -> None:
    from dltrack_widget import TrainingMonitor

    key = create_model("viewers come and go", store=firestore_url).key
    tracker = Tracker(key, broker=rabbit.url, store=firestore_url)
    done = threading.Event()
    result: dict[str, Any] = {}

    def train() -> None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # Runs until the test has seen what it needs, then a few more epochs.
            result["run"] = drive(
                tracker,
                epochs=10_000,
                steps=20,
                step_delay=0.005,
                on_batch=lambda e, b: stop_once_done(tracker, done, e),
            )
        result["warnings"] = dltrack_warnings(caught)

    trainer = threading.Thread(target=train, daemon=True)
    trainer.start()
    try:
        wait_until(lambda: len(queue_details(rabbit)) == 1, 30, "the training's command queue")
        baseline = queue_details(rabbit)

        viewer = JsonViewer(key, "--broker", rabbit.url, "--store", firestore_url)
        try:
            wait_until(
                lambda: any(
                    t["current"] for t in (viewer.latest() or {"trainings": []})["trainings"]
                ),
                60,
                "the terminal viewer to show live progress",
            )
            queues = queue_details(rabbit)
            assert len(queues) == 2
            (feed,) = set(queues) - set(baseline)
            # Exclusive, auto-delete and bounded: see backends/amqp_broker.py FEED_ARGUMENTS.
            assert queues[feed]["exclusive"] == "true" and queues[feed]["auto_delete"] == "true"
            assert "x-max-length" in queues[feed]["arguments"]
            assert "x-message-ttl" in queues[feed]["arguments"]
        finally:
            viewer.kill()
        killed = time.monotonic()
        wait_until(lambda: queue_details(rabbit).keys() == baseline.keys(), 30, "the queue to go")
        gone_after_kill = time.monotonic() - killed

        widget = TrainingMonitor(key, broker=rabbit.url, store=firestore_url)
        try:
            wait_until(
                lambda: any(t["current"] for t in widget.state["trainings"]),
                30,
                "the widget to show live progress",
            )
            assert len(queue_details(rabbit)) == 2
        finally:
            with captured_logs("pika") as pika_logs:
                widget.close()
        closed = time.monotonic()
        # Quietly: no library warning in the user's log when a viewer goes.
        assert not [r for _, r, _ in pika_logs.records if r.levelno >= logging.WARNING]
        wait_until(lambda: queue_details(rabbit).keys() == baseline.keys(), 30, "the queue to go")
        gone_after_close = time.monotonic() - closed
        assert not any(t.name.startswith("dltrack-watch") for t in threading.enumerate())
    finally:
        done.set()
        trainer.join(60)
    run: Run = result["run"]
    assert result["warnings"] == []  # the training never noticed
    assert_every_epoch_once(firestore_url, key, str(tracker.training_id), run.history)
    # And once it has ended, its own queue is gone too.
    wait_until(lambda: queue_details(rabbit) == {}, 30, "no queue at all")
    record_figure(
        "viewer_queues",
        gone_after_sigkill_s=gone_after_kill,
        gone_after_widget_close_s=gone_after_close,
    )
