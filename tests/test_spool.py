"""The on-disk spool: records wait here until the store has taken them."""

from __future__ import annotations

from pathlib import Path

import pytest

from dltrack.training import spool as spool_module
from dltrack.training.spool import Spool, spool_path
from dltrack.wire.errors import ConfigError
from dltrack.wire.keys import new_model_key, new_training_id

KEY = new_model_key()


def test_rows_come_back_in_order_until_removed(tmp_path: Path) -> None:
    tid = new_training_id()
    s = Spool(tmp_path / "s.db")
    ids = [
        s.append(KEY, tid, "epoch", {"epoch": i, "logs": {"loss": 1.0 / (i + 1)}}) for i in range(5)
    ]
    rows = s.pending()
    assert [r.id for r in rows] == ids
    assert [r.payload["epoch"] for r in rows] == [0, 1, 2, 3, 4]
    assert rows[0].payload == {"epoch": 0, "logs": {"loss": 1.0}}
    assert {(r.model_key, r.training_id, r.op) for r in rows} == {(KEY, tid, "epoch")}
    s.remove(ids[0])
    s.remove(ids[2])
    assert [r.payload["epoch"] for r in s.pending()] == [1, 3, 4]
    assert [r.payload["epoch"] for r in s.pending(limit=2)] == [1, 3]
    s.close()


def test_rows_survive_the_process(tmp_path: Path) -> None:
    tid = new_training_id()
    first = Spool(tmp_path / "s.db")
    first.append(KEY, tid, "start", {"params": {"epochs": 2}, "started_at": 1.0})
    first.close()
    second = Spool(tmp_path / "s.db")
    (row,) = second.pending()
    assert (row.op, row.payload) == ("start", {"params": {"epochs": 2}, "started_at": 1.0})
    second.close()


def test_counts_and_dropping_a_model(tmp_path: Path) -> None:
    a, b = new_training_id(), new_training_id()
    other = new_model_key()
    s = Spool(tmp_path / "s.db")
    for _ in range(3):
        s.append(KEY, a, "epoch", {})
    s.append(other, b, "epoch", {})
    assert s.count() == 4
    assert s.count(a) == 3
    assert s.count(b) == 1
    assert s.drop_model(KEY) == 3
    assert s.count() == 1
    assert [r.model_key for r in s.pending()] == [other]
    s.close()


def test_two_handles_share_one_spool(tmp_path: Path) -> None:
    """A training and `dltrack sync` (or two trainings) may hold the same spool at once."""
    writer, reader = Spool(tmp_path / "s.db"), Spool(tmp_path / "s.db")
    row_id = writer.append(KEY, new_training_id(), "end", {"status": "completed"})
    assert [r.id for r in reader.pending()] == [row_id]
    reader.remove(row_id)
    assert writer.count() == 0
    writer.close()
    reader.close()


def test_the_spool_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spool_module, "MAX_ROWS", 10)
    s = Spool(tmp_path / "s.db")
    s._conn.execute("PRAGMA synchronous = OFF")  # 1000 commits; durability is not the point
    tid = new_training_id()
    for i in range(1000):
        s.append(KEY, tid, "epoch", {"epoch": i})
    assert s.count() == 10
    assert [r.payload["epoch"] for r in s.pending()] == list(range(990, 1000))  # newest kept
    s.close()


def test_one_spool_per_store(tmp_path: Path) -> None:
    a = spool_path(tmp_path, "sqlite:///a.db")
    assert a == spool_path(tmp_path, "sqlite:///a.db")
    assert a != spool_path(tmp_path, "sqlite:///b.db")
    assert a != spool_path(tmp_path, "firestore://a")
    assert a.parent == tmp_path
    # the file name never shows the URL (it may hold a password)
    assert "secret" not in spool_path(tmp_path, "amqp://u:secret@h/").name


def test_unusable_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match="DLTRACK_HOME"):
        Spool(blocker / "spool" / "s.db")
