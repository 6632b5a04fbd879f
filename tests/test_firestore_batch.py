"""An epoch's end reaches Firestore as one batch (one commit), and a batch that fails stays in
the spool and replays idempotently. Against the real Firestore emulator."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.cloud.firestore_v1 import batch as fs_batch

from dltrack import Tracker
from dltrack.backends import open_store
from dltrack.training import store_writer
from dltrack.training.spool import Spool
from dltrack.wire.errors import BackendError
from dltrack.wire.keys import new_training_id


@pytest.fixture
def commits(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The documents each commit the client library sends writes (it still sends them)."""
    sent: list[list[str]] = []
    original = fs_batch.WriteBatch.commit

    def commit(self: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append([w.update.name.rsplit("/documents/", 1)[-1] for w in self._write_pbs])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(fs_batch.WriteBatch, "commit", commit)
    return sent


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    s = Spool(tmp_path / "spool.db")
    yield s
    s.close()


def spool_epochs(spool: Spool, key: str, tid: str, epochs: int) -> None:
    spool.append(key, tid, "start", {"params": {"epochs": epochs}, "started_at": time.time()})
    for e in range(epochs):
        spool.append(key, tid, "epoch", {"epoch": e, "logs": {"loss": 1.0 / (e + 1)}, "steps": 4})
        spool.append(key, tid, "update", {"epochs_done": e + 1, "last_seen": time.time()})


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_fit_writes_each_epoch_in_one_commit(
    firestore_url: str, commits: list[list[str]]
) -> None:
    from tests.helpers import tiny_data, tiny_model

    store = open_store(firestore_url)
    key = store.create_model("batched").key
    x, y = tiny_data()
    commits.clear()
    tracker = Tracker(key, store=firestore_url)
    tiny_model().fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[tracker])
    (training,) = store.list_trainings(key)
    assert training.status == "completed" and training.epochs_done == 3
    assert [e.epoch for e in store.list_epochs(key, training.training_id)] == [0, 1, 2]
    store.close()
    # Each epoch's record went in the same commit as the training's progress (the store
    # thread may have taken two epochs at once: then both, and both updates, in one).
    row = f"trainings/{training.training_id}"
    with_epochs = [c for c in commits if any("/epochs/" in path for path in c)]
    assert sum(path.count("/epochs/") for c in with_epochs for path in c) == 3, commits
    for c in with_epochs:
        assert sum(p.endswith(row) for p in c) == sum("/epochs/" in p for p in c), commits


def test_a_failed_batch_stays_spooled_and_replays_once(
    firestore_url: str, spool: Spool, monkeypatch: pytest.MonkeyPatch, commits: list[list[str]]
) -> None:
    good = open_store(firestore_url)
    key = good.create_model("batched").key
    tid = new_training_id()
    spool_epochs(spool, key, tid, 3)
    emulator = os.environ["FIRESTORE_EMULATOR_HOST"]
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{closed_port()}")
    down = open_store(firestore_url)
    with pytest.raises(BackendError):
        store_writer.replay(spool, down)
    down.close()
    assert spool.count() == 7  # nothing left the spool
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emulator)
    commits.clear()
    assert store_writer.replay(spool, good) == 7
    # The numbering batch, then one commit for the three epochs and their updates (a spool
    # that waited is written in batches, not row by row).
    assert [len(c) for c in commits] == [2, 6], commits
    assert spool.count() == 0
    # Replaying the same rows again (another process had them) changes nothing.
    spool_epochs(spool, key, tid, 3)
    assert store_writer.replay(spool, good) == 7
    (training,) = good.list_trainings(key)
    assert training.number == 1 and training.epochs_done == 3
    assert [e.logs["loss"] for e in good.list_epochs(key, tid)] == [1.0, 0.5, 1.0 / 3]
    good.close()


def test_a_batch_for_a_training_that_is_gone_writes_what_it_can(
    firestore_url: str, spool: Spool
) -> None:
    """Like the other stores: an update of a missing training changes nothing, the rest lands
    (a single batch would fail as a whole)."""
    store = open_store(firestore_url)
    key = store.create_model("batched").key
    tid = new_training_id()
    spool.append(key, tid, "epoch", {"epoch": 0, "logs": {"loss": 1.0}, "steps": 4})
    spool.append(key, tid, "update", {"epochs_done": 1})
    assert store_writer.replay(spool, store) == 2
    assert [e.epoch for e in store.list_epochs(key, tid)] == [0]
    assert store.get_training(key, tid) is None
    store.close()
