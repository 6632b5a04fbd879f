"""Data written before model ids stays readable: the local file migrates as it opens, Firestore
with `dltrack migrate` (until then, a one-line error that says so)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from dltrack import Watcher
from dltrack.backends import open_store
from dltrack.wire import config
from dltrack.wire.errors import ConfigError
from dltrack.wire.keys import model_id, new_model_key, new_training_id
from tests.helpers import run_cli

# The local file's schema before model ids (dltrack 0.1), as it was shipped.
OLD_SCHEMA = """
CREATE TABLE models (key TEXT PRIMARY KEY, name TEXT NOT NULL, created_at REAL NOT NULL,
    train_count INTEGER NOT NULL DEFAULT 0);
CREATE TABLE trainings (model_key TEXT NOT NULL, training_id TEXT NOT NULL,
    number INTEGER NOT NULL, status TEXT NOT NULL, params TEXT NOT NULL, started_at REAL NOT NULL,
    ended_at REAL, last_seen REAL, epochs_done INTEGER NOT NULL DEFAULT 0,
    final_logs TEXT NOT NULL, stop TEXT, reason TEXT, PRIMARY KEY (model_key, training_id));
CREATE TABLE epochs (model_key TEXT NOT NULL, training_id TEXT NOT NULL, epoch INTEGER NOT NULL,
    logs TEXT NOT NULL, steps INTEGER, started_at REAL, ended_at REAL,
    PRIMARY KEY (model_key, training_id, epoch));
CREATE TABLE updates (id INTEGER PRIMARY KEY AUTOINCREMENT, model_key TEXT NOT NULL,
    ts REAL NOT NULL, body BLOB NOT NULL);
CREATE TABLE commands (id INTEGER PRIMARY KEY AUTOINCREMENT, model_key TEXT NOT NULL,
    target TEXT NOT NULL, ts REAL NOT NULL, body BLOB NOT NULL);
CREATE TABLE listeners (model_key TEXT NOT NULL, training_id TEXT NOT NULL,
    last_seen REAL NOT NULL, PRIMARY KEY (model_key, training_id));
"""


def old_local_file(path: Path, key: str, training_id: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript(OLD_SCHEMA)
    conn.execute("INSERT INTO models VALUES (?, 'old model', 1700000000.0, 1)", (key,))
    conn.execute(
        "INSERT INTO trainings VALUES (?, ?, 1, 'completed', '{\"epochs\": 2}', 1700000001.0, "
        "1700000009.0, 1700000009.0, 2, '{\"loss\": 0.5}', NULL, NULL)",
        (key, training_id),
    )
    for epoch in range(2):
        conn.execute(
            "INSERT INTO epochs VALUES (?, ?, ?, ?, 10, NULL, NULL)",
            (key, training_id, epoch, json.dumps({"loss": 1.0 - epoch / 2})),
        )
    conn.commit()
    conn.close()


def test_an_old_local_file_migrates_as_it_opens(dltrack_home: Path) -> None:
    key, tid = new_model_key(), new_training_id()
    path = config.sqlite_path(config.resolve().store_url)
    old_local_file(path, key, tid)

    store = open_store(config.resolve().store_url)
    try:
        model = store.get_model(key)
        assert model is not None and (model.key, model.id, model.name) == (
            key,
            model_id(key),
            "old model",
        )
        (training,) = store.list_trainings(key)
        assert (training.model_id, training.training_id, training.status) == (
            model_id(key),
            tid,
            "completed",
        )
        assert [e.logs["loss"] for e in store.list_epochs(key, tid)] == [1.0, 0.5]
        assert store.start_training(key, new_training_id(), {}, 1.0) == 2  # numbering goes on
    finally:
        store.close()
    # The key is now only the models table's own column: no row is filed under it.
    conn = sqlite3.connect(path)
    assert (
        conn.execute("SELECT COUNT(*) FROM trainings WHERE model_id = ?", (key,)).fetchone()[0] == 0
    )
    assert conn.execute("SELECT id FROM models").fetchall() == [(model_id(key),)]
    conn.close()
    # And the CLI, a new process, reads it too (opening again is a no-op).
    result = run_cli("trainings", key)
    assert result.returncode == 0 and "old model  (2 trainings)" in result.stdout, result.stderr


def test_an_old_file_with_events_keeps_them_under_the_id(dltrack_home: Path) -> None:
    """A file from before model ids that already held events (the steering release)."""
    key, tid = new_model_key(), new_training_id()
    path = config.sqlite_path(config.resolve().store_url)
    old_local_file(path, key, tid)
    event = {"id": new_training_id(), "kind": "end", "at": 1700000009.0, "ok": True}
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE events (model_key TEXT NOT NULL, training_id TEXT NOT NULL, "
        "id TEXT NOT NULL, at REAL NOT NULL, body TEXT NOT NULL, "
        "PRIMARY KEY (model_key, training_id, id))"
    )
    conn.execute(
        "INSERT INTO events VALUES (?, ?, ?, ?, ?)",
        (key, tid, event["id"], event["at"], json.dumps(event)),
    )
    conn.commit()
    conn.close()

    store = open_store(config.resolve().store_url)
    try:
        assert store.list_events(key, tid) == [event]
        assert store.list_events(model_id(key), tid) == [event]
    finally:
        store.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT model_id FROM events").fetchall() == [(model_id(key),)]
    conn.close()


def legacy_firestore(url: str, key: str, training_id: str) -> None:
    """Documents as dltrack 0.1 wrote them: `models/{key}/…`."""
    from google.cloud import firestore

    db = firestore.Client(project=url.removeprefix("firestore://"))
    model = db.collection("models").document(key)
    model.set({"name": "old model", "created_at": 1700000000.0, "train_count": 1})
    training = model.collection("trainings").document(training_id)
    training.set(
        {
            "number": 1,
            "status": "completed",
            "params": "{}",
            "started_at": 1700000001.0,
            "ended_at": 1700000009.0,
            "last_seen": 1700000009.0,
            "epochs_done": 2,
            "final_logs": {"loss": 0.5},
            "stop": None,
            "reason": None,
        }
    )
    for epoch in range(2):
        training.collection("epochs").document(f"{epoch:05d}").set(
            {"epoch": epoch, "logs": {"loss": 1.0 - epoch / 2}, "steps": 10}
        )
    db.close()


@pytest.mark.firestore
def test_old_firestore_data_says_how_to_migrate_then_migrates(firestore_url: str) -> None:
    key, tid = new_model_key(), new_training_id()
    legacy_firestore(firestore_url, key, tid)

    store = open_store(firestore_url)
    try:
        with pytest.raises(ConfigError, match="run `dltrack migrate` once") as error:
            store.get_model(key)
        assert key not in str(error.value)  # the message names the public id
        with pytest.raises(ConfigError, match=r"1 model\(s\) are stored under the raw model key"):
            store.list_models()
        with pytest.raises(ConfigError, match="dltrack migrate"):
            Watcher(key, store=firestore_url).start()
    finally:
        store.close()
    result = run_cli("migrate", "--store", firestore_url)
    assert result.returncode == 0, result.stderr
    assert f"{key}  {model_id(key)}  old model" in result.stdout

    store = open_store(firestore_url)
    try:
        model = store.get_model(key)
        assert model is not None and (model.id, model.name, model.train_count) == (
            model_id(key),
            "old model",
            1,
        )
        assert [m.id for m in store.list_models()] == [model_id(key)]  # the old one is gone
        (training,) = store.list_trainings(key)
        assert training.status == "completed" and training.final_logs == {"loss": 0.5}
        assert [e.logs["loss"] for e in store.list_epochs(key, tid)] == [1.0, 0.5]
    finally:
        store.close()
    again = run_cli("migrate", "--store", firestore_url)
    assert again.returncode == 0 and "nothing to migrate" in again.stdout
