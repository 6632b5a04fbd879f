"""Through a real network: RabbitMQ and the Firestore emulator each behind a latency proxy
(bench/proxy.py, 50 ± 20 ms each way). A viewer that joins late reads the history from the
proxied store and the running training live from the proxied broker; nothing is missed."""

from __future__ import annotations

import secrets
import threading
from typing import Any

import pytest

from bench.proxy import proxied, proxied_emulator
from dltrack import Tracker, Watcher, create_model
from tests.reliability.support import drive, record_figure, stored_epochs

pytestmark = [pytest.mark.amqp, pytest.mark.firestore, pytest.mark.slow]

EPOCHS, STEPS = 3, 5


def training(snap: dict[str, Any], number: int) -> dict[str, Any] | None:
    return next((t for t in snap["trainings"] if t["number"] == number), None)


def shown(snap: dict[str, Any], number: int) -> list[int]:
    t = training(snap, number)
    return [e["epoch"] for e in t["epochs"]] if t else []


def test_a_late_joiner_reads_history_from_the_proxied_store(
    amqp_url: str, firestore_emulator: str
) -> None:
    with proxied(amqp_url) as broker, proxied_emulator(firestore_emulator, seed=2):
        store = f"firestore://proxied-{secrets.token_hex(4)}"
        key = create_model("proxied", store=store).key
        first, later = (Tracker(key, broker=broker, store=store) for _ in range(2))
        drive(first, EPOCHS, STEPS)
        # A second training, held in its second epoch while the viewer joins.
        held, release = threading.Event(), threading.Event()

        def hold(epoch: int, batch: int) -> None:
            if (epoch, batch) == (1, 2):
                held.set()
                release.wait(60)

        second = threading.Thread(
            target=drive,
            args=(later, EPOCHS, STEPS),
            kwargs={"on_batch": hold, "step_delay": 0.05},
        )
        second.start()
        try:
            assert held.wait(60), "the second training never reached its second epoch"
            with Watcher(key, broker=broker, store=store) as watcher:

                def joined(s: dict[str, Any]) -> bool:
                    t = training(s, 2)
                    live = t is not None and t["current"] and t["current"]["epoch"] == 1
                    return shown(s, 1) == [0, 1, 2] and shown(s, 2) == [0] and bool(live)

                snap = watcher.wait_for(joined, 60)
                assert snap is not None, watcher.snapshot()
                assert training(snap, 1)["status"] == "completed"  # type: ignore[index]
                assert snap["connection"]["store_status"] == "following"
                release.set()
                second.join(60)

                def ended(s: dict[str, Any]) -> bool:
                    t = training(s, 2)
                    return shown(s, 2) == [0, 1, 2] and t is not None and t["status"] == "completed"

                assert watcher.wait_for(ended, 60) is not None, watcher.snapshot()
        finally:
            release.set()
            second.join(60)
        for tracker in (first, later):
            assert tracker.training_id is not None
            assert [e.epoch for e in stored_epochs(store, key, tracker.training_id)] == [0, 1, 2]
    record_figure("through_proxy_late_joiner", epochs=2 * EPOCHS)
