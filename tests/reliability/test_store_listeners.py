"""A viewer on Firestore follows the model with realtime listeners: finished trainings' epochs
are read once, and listeners broken by an emulator restart are re-established (the viewer says
so) without missing what was written meanwhile. Against the real emulator."""

from __future__ import annotations

import threading
import time
from typing import Any

from dltrack import Watcher, create_model
from dltrack.backends import open_store
from dltrack.backends.firestore_follow import FirestoreFollow
from dltrack.wire.errors import BackendError
from dltrack.wire.keys import new_training_id
from dltrack.wire.records import EpochRecord
from tests.helpers import wait_until
from tests.reliability.support import DurableFirestore


def add_epoch(url: str, key: str, training_id: str, epoch: int, **fields: Any) -> None:
    store = open_store(url)
    try:
        store.write_epoch(
            key, training_id, EpochRecord(epoch=epoch, logs={"loss": 1.0 / (epoch + 1)})
        )
        store.update_training(key, training_id, epochs_done=epoch + 1, **fields)
    finally:
        store.close()


def written(url: str, key: str, training_id: str, epoch: int) -> bool:
    try:
        add_epoch(url, key, training_id, epoch)
    except BackendError:
        return False
    return True


def a_training(url: str, key: str) -> str:
    store = open_store(url)
    try:
        training_id = new_training_id()
        store.start_training(key, training_id, {"epochs": 3}, time.time())
        return training_id
    finally:
        store.close()


def shown_epochs(snap: dict[str, Any]) -> list[int]:
    return [e["epoch"] for t in snap["trainings"] for e in t["epochs"]]


def test_finished_epochs_are_read_once_and_running_ones_pushed(
    durable_firestore: DurableFirestore,
) -> None:
    url = durable_firestore.new_url()
    key = create_model("listened", store=url).key
    done, running = a_training(url, key), a_training(url, key)
    for epoch in range(3):
        add_epoch(url, key, done, epoch)
    add_epoch(url, key, done, 2, status="completed", ended_at=time.time())
    store = open_store(url)
    reads: list[str] = []
    list_epochs = store.list_epochs

    def counted(model: str, training_id: str) -> list[EpochRecord]:
        reads.append(training_id)
        return list_epochs(model, training_id)

    store.list_epochs = counted  # type: ignore[method-assign]
    changed = threading.Event()
    follow = store.follow(key, changed.set)
    try:
        assert isinstance(follow, FirestoreFollow)
        first = follow.current()
        assert [len(first.epochs[t]) for t in (done, running)] == [3, 0]
        for _ in range(5):
            follow.current()
        assert reads == [done]  # the finished training's epochs, once; never the running one's
        add_epoch(url, key, running, 0)

        def pushed() -> bool:
            return len(follow.current().epochs[running]) == 1

        wait_until(pushed, 30, "the running training's new epoch, from its listener")
        assert reads == [done] and changed.is_set()
    finally:
        follow.close()
        store.close()


def test_a_viewer_misses_nothing_written_while_the_store_restarted(
    durable_firestore: DurableFirestore,
) -> None:
    url = durable_firestore.new_url()
    key = create_model("listened", store=url).key
    tid = a_training(url, key)
    add_epoch(url, key, tid, 0)
    with Watcher(key, store=url) as watcher:
        assert watcher.wait_for(lambda s: shown_epochs(s) == [0], 30) is not None
        durable_firestore.restart()
        wait_until(lambda: written(url, key, tid, 1), 60, "a write after the restart")
        snap = watcher.wait_for(lambda s: shown_epochs(s) == [0, 1], 90)
        assert snap is not None, watcher.snapshot()
        assert snap["connection"]["store_status"] == "following"
