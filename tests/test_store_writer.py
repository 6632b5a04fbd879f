"""Spooled records replayed into a real (embedded) store, in order, idempotently."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from dltrack.backends.local_store import LocalStore
from dltrack.training import store_writer
from dltrack.training.spool import Spool
from dltrack.wire.keys import new_model_key, new_training_id
from dltrack.wire.timing import INTERRUPTED_AFTER_S


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = LocalStore(tmp_path / "store.db")
    yield s
    s.close()


@pytest.fixture
def spool(tmp_path: Path) -> Any:
    s = Spool(tmp_path / "spool.db")
    yield s
    s.close()


def spool_training(spool: Spool, key: str, tid: str, epochs: int, status: str) -> None:
    spool.append(key, tid, "start", {"params": {"epochs": epochs}, "started_at": time.time()})
    for e in range(epochs):
        spool.append(key, tid, "epoch", {"epoch": e, "logs": {"loss": 1.0 / (e + 1)}, "steps": 4})
        spool.append(key, tid, "update", {"epochs_done": e + 1})
    spool.append(
        key, tid, "end", {"status": status, "epochs_done": epochs, "ended_at": time.time()}
    )


def test_replay_writes_everything_in_order(store: LocalStore, spool: Spool) -> None:
    key = store.create_model("m").key
    a, b = new_training_id(), new_training_id()
    spool_training(spool, key, a, 3, "completed")
    spool_training(spool, key, b, 2, "stopped")
    started: list[tuple[str, int]] = []
    written = store_writer.replay(spool, store, lambda row, n: started.append((row.training_id, n)))
    assert written == 2 * 1 + 3 * 2 + 2 * 2 + 2 * 1
    assert spool.count() == 0
    assert started == [(a, 1), (b, 2)]
    ta, tb = store.list_trainings(key)
    assert (ta.status, ta.epochs_done, tb.status, tb.epochs_done) == ("completed", 3, "stopped", 2)
    assert [e.logs["loss"] for e in store.list_epochs(key, a)] == [1.0, 0.5, 1.0 / 3]


def test_replaying_twice_changes_nothing(store: LocalStore, tmp_path: Path) -> None:
    """Two processes may replay the same rows (a training and `dltrack sync`)."""
    key = store.create_model("m").key
    tid = new_training_id()
    for name in ("one.db", "two.db"):
        copy = Spool(tmp_path / name)
        spool_training(copy, key, tid, 2, "completed")
        store_writer.replay(copy, store)
        copy.close()
    (t,) = store.list_trainings(key)
    assert t.number == 1
    assert len(store.list_epochs(key, tid)) == 2
    model = store.get_model(key)
    assert model is not None and model.train_count == 1


def test_rows_of_an_unknown_model_are_kept_and_skipped(store: LocalStore, spool: Spool) -> None:
    known = store.create_model("m").key
    ghost = new_model_key()
    spool_training(spool, ghost, new_training_id(), 1, "completed")
    spool_training(spool, known, new_training_id(), 1, "completed")
    spool_training(spool, ghost, new_training_id(), 1, "completed")
    of_known = len([r for r in spool.pending() if r.model_key == known])
    of_ghost = spool.count() - of_known
    told: list[str] = []
    skipped: set[str] = set()
    # One pass writes the known model's rows, keeps the ghost's and says whose they were.
    assert store_writer.replay(spool, store, on_unknown=told.append, unknown=skipped) == of_known
    assert told == [ghost] and skipped == {ghost}
    assert spool.count() == of_ghost
    assert len(store.list_trainings(known)) == 1
    # The next pass with the same set does not even try them.
    assert store_writer.replay(spool, store, on_unknown=told.append, unknown=skipped) == 0
    assert told == [ghost]


def test_a_new_training_marks_silent_ones_interrupted(store: LocalStore, spool: Spool) -> None:
    key = store.create_model("m").key
    silent, fresh, new = new_training_id(), new_training_id(), new_training_id()
    long_ago = time.time() - INTERRUPTED_AFTER_S - 60
    store.start_training(key, silent, {}, long_ago)
    store.start_training(key, fresh, {}, long_ago)
    store.update_training(key, fresh, last_seen=time.time())  # still alive
    spool.append(key, new, "start", {"params": {}, "started_at": time.time()})
    store_writer.replay(spool, store)
    status = {t.training_id: t.status for t in store.list_trainings(key)}
    assert status == {silent: "interrupted", fresh: "running", new: "running"}
    training = store.get_training(key, silent)
    assert training is not None and training.reason == "no sign of life from the training"


def test_sync_reports_what_the_store_cannot_take_and_keeps_it(tmp_path: Path) -> None:
    """A model lost by the store: `dltrack sync` says what waits and why, keeps the records,
    exports them on request and drops them only with --discard."""
    import json

    from dltrack.training.spool import spool_path
    from dltrack.wire import config
    from tests.helpers import run_cli

    settings = config.resolve()
    spool = Spool(spool_path(settings.spool_dir, settings.store_url))
    ghost, tid = new_model_key(), new_training_id()
    spool_training(spool, ghost, tid, 2, "completed")
    rows = spool.count()
    spool.close()

    result = run_cli("sync")
    assert result.returncode == 1
    assert f"{rows} record(s) of 1 training(s) ({tid}) cannot be written" in result.stdout
    assert "the store has no such model" in result.stdout and "--export FILE" in result.stdout
    assert ghost not in result.stdout + result.stderr  # the key is a secret

    exported = tmp_path / "kept.jsonl"
    result = run_cli("sync", "--export", str(exported))
    assert result.returncode == 1 and f"exported them to {exported}" in result.stdout
    lines = [json.loads(line) for line in exported.read_text().splitlines()]
    assert lines[0]["op"] == "start" and len(lines) == rows
    assert {line["training_id"] for line in lines} == {tid}

    result = run_cli("sync", "--discard")
    assert result.returncode == 0, result.stdout
    assert f"discarded them ({rows} record(s))" in result.stdout
    assert "0 left" in result.stdout
