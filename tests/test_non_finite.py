"""NaN and infinite metrics are shown as such, never dropped: a marker beside the finite logs,
live and in the store (both stores), read back by every viewer. A real Keras fit() with
TerminateOnNaN in another process, on the embedded default and on RabbitMQ + Firestore."""

from __future__ import annotations

import io
import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from dltrack import Watcher
from dltrack.backends import open_store
from dltrack.backends.local_store import LocalStore
from dltrack.viewing.catalog import epoch_row, write_csv
from dltrack.viewing.terminal_format import epoch_line, sparkline, with_markers
from dltrack.wire.keys import model_id, new_model_key
from dltrack.wire.records import EpochRecord, TrainingRecord
from tests.helpers import run_cli, wait_until
from tests.test_control import Child, backends, key  # noqa: F401 - fixtures

MARKED = EpochRecord(0, {"lr": 0.01}, 6, 1.0, 2.0, {"loss": "nan", "val_loss": "inf"})


def test_a_record_keeps_its_markers_and_old_records_read_as_before() -> None:
    data = MARKED.to_json()
    assert data["non_finite"] == {"loss": "nan", "val_loss": "inf"}
    assert EpochRecord.from_json(json.loads(json.dumps(data))) == MARKED
    plain = EpochRecord(1, {"loss": 0.5}).to_json()
    assert "non_finite" not in plain  # the shape older peers know
    # A record of an older peer, and one with junk where the markers go.
    assert EpochRecord.from_json({"epoch": 1, "logs": {"loss": 0.5}}).non_finite == {}
    junk = {"epoch": 1, "logs": {}, "non_finite": {"loss": "NaN!", "acc": ["nan"]}}
    assert EpochRecord.from_json(junk).non_finite == {}


def test_the_local_store_keeps_markers_and_upgrades_an_older_file(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    # The epochs table as files from before the markers have it.
    db.executescript(
        "CREATE TABLE models (id TEXT PRIMARY KEY, key TEXT, name TEXT NOT NULL, "
        "created_at REAL NOT NULL, train_count INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE epochs (model_id TEXT NOT NULL, training_id TEXT NOT NULL, "
        "epoch INTEGER NOT NULL, logs TEXT NOT NULL, steps INTEGER, started_at REAL, "
        "ended_at REAL, PRIMARY KEY (model_id, training_id, epoch));"
    )
    old_key = new_model_key()
    db.execute(
        "INSERT INTO epochs VALUES (?, 't', 0, ?, 8, 1.0, 2.0)",
        (model_id(old_key), json.dumps({"loss": 0.5})),
    )
    db.commit()
    db.close()
    store = LocalStore(path)
    try:
        model = store.create_model("nan")
        store.write_epoch(model.key, "t", MARKED)
        assert store.list_epochs(model.key, "t") == [MARKED]
        [old] = store.list_epochs(old_key, "t")
        assert (old.logs, old.non_finite) == ({"loss": 0.5}, {})
    finally:
        store.close()


def test_the_terminal_shows_nan() -> None:
    training = {"number": 1, "epochs_planned": 3, "params": {"steps": 6}}
    line = epoch_line(training, dict(MARKED.to_json()))
    assert "loss nan" in line and "val_loss inf" in line
    assert with_markers(MARKED.to_json())["loss"] == "nan"
    assert sparkline([0.5, 0.25, math.nan]) == "█▁!"


def test_the_csv_export_writes_nan() -> None:
    out = io.StringIO()
    row = {"number": 1, "training_id": "t", "status": "completed"}
    write_csv([{**row, "epochs": [MARKED.to_json()]}], out)
    header, line = out.getvalue().splitlines()
    assert dict(zip(header.split(","), line.split(","), strict=True))["loss"] == "nan"


def test_history_rows_hold_the_float_again() -> None:
    t = TrainingRecord("m", "t", 1, "completed")
    row = epoch_row(t, MARKED)
    assert math.isnan(row["loss"]) and row["val_loss"] == math.inf and row["lr"] == 0.01


def last_epoch(snap: dict[str, Any] | None) -> dict[str, Any] | None:
    trainings = (snap or {}).get("trainings") or []
    epochs = trainings[0]["epochs"] if trainings else None
    return epochs[-1] if epochs else None


@pytest.mark.slow
def test_terminate_on_nan_shows_its_last_epoch_with_loss_nan(
    key: str,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    with Watcher(key) as live:
        child = Child(key, tmp_path, nan_from=40, delay=0.0, epochs=5)
        try:
            code, err = child.finish(120)
        finally:
            child.kill()
        assert code == 0, err
        snap = live.wait_for(lambda s: s["trainings"][0]["status"] == "completed", 60)
        assert snap is not None, live.snapshot()
        record = last_epoch(snap)
        assert record is not None and record["non_finite"] == {"loss": "nan"}, record
        assert "loss" not in record["logs"]
        training = snap["trainings"][0]
        assert training["reason"].startswith("TerminateOnNaN: the loss became nan")

    store = open_store(live.settings.store_url)
    try:
        [stored] = wait_until(
            lambda: store.list_epochs(key, training["training_id"]), 30, "the epoch in the store"
        )
    finally:
        store.close()
    assert stored.non_finite == {"loss": "nan"}

    with Watcher(key) as late:  # a viewer that joins after the end reads the store
        late_snap = late.wait_for(lambda s: last_epoch(s) is not None, 30)
        assert late_snap is not None
        assert last_epoch(late_snap)["non_finite"] == {"loss": "nan"}  # type: ignore[index]

    shown = run_cli("trainings", "show", key, "1")
    assert shown.returncode == 0, shown.stderr
    assert "epoch    1  loss nan" in shown.stdout, shown.stdout
    assert "last nan" in shown.stdout
