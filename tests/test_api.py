"""The Python API behind the CLI and the magic."""

from __future__ import annotations

import io
import sys

import pytest

from dltrack import create_model, list_models
from dltrack.viewing import catalog as api
from dltrack.wire.errors import ConfigError, UnknownModelError
from dltrack.wire.keys import MAX_NAME, new_model_key, new_training_id
from dltrack.wire.records import EpochRecord


def test_create_and_list_models() -> None:
    assert list_models() == []
    a = create_model("  first  ")
    b = create_model("second")
    assert a.name == "first"
    assert [(m.key, m.name, m.train_count) for m in list_models()] == [
        (a.key, "first", 0),
        (b.key, "second", 0),
    ]
    for bad in ("", "   ", "x" * (MAX_NAME + 1)):
        with pytest.raises(ConfigError, match="model name"):
            create_model(bad)
    assert len(list_models()) == 2


def test_find_training_by_number_or_id(model_key: str) -> None:
    with api.open_settings_store() as store:
        ids = [new_training_id() for _ in range(3)]
        for tid in ids:
            store.start_training(model_key, tid, {}, 0.0)
        assert api.find_training(store, model_key, "2").training_id == ids[1]
        assert api.find_training(store, model_key, "#3").training_id == ids[2]
        assert api.find_training(store, model_key, ids[0]).number == 1
        with pytest.raises(ConfigError, match="no training with number '4'"):
            api.find_training(store, model_key, "4")
        with pytest.raises(ConfigError, match="no training with id"):
            api.find_training(store, model_key, new_training_id())
        with pytest.raises(UnknownModelError):
            api.get_model(store, new_model_key())
        with pytest.raises(ConfigError, match="not a model key"):
            api.get_model(store, "nope")


def test_history_rows(model_key: str) -> None:
    with api.open_settings_store() as store:
        tid = new_training_id()
        store.start_training(model_key, tid, {}, 0.0)
        store.write_epoch(model_key, tid, EpochRecord(0, {"loss": 0.5, "val_loss": 0.6}))
        store.write_epoch(model_key, tid, EpochRecord(1, {"loss": 0.4, "val_loss": 0.5}))
    rows = api.history_rows(model_key)
    assert rows == [
        {
            "training": 1,
            "training_id": tid,
            "status": "running",
            "epoch": 0,
            "loss": 0.5,
            "val_loss": 0.6,
        },
        {
            "training": 1,
            "training_id": tid,
            "status": "running",
            "epoch": 1,
            "loss": 0.4,
            "val_loss": 0.5,
        },
    ]
    with pytest.raises(UnknownModelError):
        api.history_rows(new_model_key())


def test_history_says_how_to_get_pandas(model_key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if it were not installed
    with pytest.raises(ConfigError, match="pip install pandas"):
        api.history(model_key)


def test_write_csv_one_row_per_epoch_one_column_per_metric() -> None:
    out = io.StringIO()
    api.write_csv(
        [
            {
                "number": 1,
                "training_id": "a" * 16,
                "status": "completed",
                "epochs": [{"epoch": 0, "logs": {"loss": 0.5}}],
            },
            {
                "number": 2,
                "training_id": "b" * 16,
                "status": "stopped",
                "epochs": [{"epoch": 0, "logs": {"loss": 0.4, "acc": 0.9}}],
            },
        ],
        out,
    )
    assert out.getvalue().splitlines() == [
        "training,training_id,status,epoch,loss,acc",
        f"1,{'a' * 16},completed,0,0.5,",
        f"2,{'b' * 16},stopped,0,0.4,0.9",
    ]
    empty = io.StringIO()
    api.write_csv([], empty)
    assert empty.getvalue() == "training\n"
