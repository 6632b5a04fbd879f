"""bench/scale.py's parts: its synthetic trainings are the product's broker thread (quiet until a
viewer says hello, then live), its counter sorts what it hears, its tables say where it stopped.
No timings are asserted: the figures belong to the benchmark."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest

from bench import fleet, scale
from bench.observe import WatcherView, ages
from bench.sandbox import Sandbox
from dltrack.wire.keys import model_id


def test_the_counter_sorts_by_type_and_by_watched_model() -> None:
    counter = scale.Counter("amqp://unused", {"watchedmodel"})
    deliver = counter._on_message  # the consumer callback pika would call
    for exchange, key in [
        ("dltrack.updates", "watchedmodel.t1.progress"),
        ("dltrack.updates", "othermodel.t2.epoch_end"),
        ("dltrack.commands", "watchedmodel.*"),
    ]:
        deliver(None, SimpleNamespace(exchange=exchange, routing_key=key), None, b"")
    assert counter.snapshot() == {
        "progress": 1,
        "watched update": 1,
        "epoch_end": 1,
        "unwatched update": 1,
        "command": 1,
        "watched command": 1,
    }


def test_the_tables_say_where_growing_stopped() -> None:
    result: dict[str, Any] = {
        "idle": {"rabbitmq_cpu_pct": 0.2, "rabbitmq_rss_mib": 150.0},
        "window_s": 30.0,
        "steps": {"1000": {"grow": {"connected": 700, "asked": 900, "took_s": 120.0}}},
    }
    out = scale.tables(result)
    assert "At 1000: 700 of 900 new connected; stopped there." in out
    assert "0.2% of a core, 150 MiB" in out


@pytest.mark.amqp
def test_a_synthetic_training_is_quiet_until_watched_then_live(amqp_url: str) -> None:
    with Sandbox("scale-test") as sandbox:
        key = sandbox.new_model("scale-test")
        counter = scale.Counter(amqp_url, {model_id(key)}).start()
        training = fleet.Synthetic(key, amqp_url, sandbox.local_url)
        view = None
        try:
            deadline = time.monotonic() + 20
            while not training.connected and time.monotonic() < deadline:
                time.sleep(0.05)
            assert training.connected
            for _ in range(20):  # two seconds of batches with nobody watching
                training.batch(time.monotonic())
                time.sleep(0.1)
            assert counter.snapshot().get("progress", 0) == 0
            view = WatcherView(amqp_url, sandbox.local_url, key, fleet.STEPS).start()
            deadline = time.monotonic() + 20
            while not ages(view.seen) and time.monotonic() < deadline:
                training.batch(time.monotonic())
                time.sleep(0.1)
            assert ages(view.seen), "the viewer never saw a batch's end stamp"
            # The counter's queue hears the same messages, in its own time.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not (
                counter.snapshot().get("progress") and counter.snapshot().get("watched command")
            ):
                time.sleep(0.1)
            assert counter.snapshot().get("progress", 0) > 0
            assert counter.snapshot().get("watched command", 0) >= 1  # the viewer's hello
        finally:
            if view is not None:
                view.close()
            training.end()
            training.thread.join(timeout=10)
            counter.close()
