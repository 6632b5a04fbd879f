"""The Python API behind the CLI and the magic: models, trainings and their history."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from dltrack.backends import open_store
from dltrack.backends.store import Store
from dltrack.wire import config
from dltrack.wire.errors import ConfigError, UnknownModelError
from dltrack.wire.keys import check_model_ref, check_name, is_training_id, model_id_of
from dltrack.wire.protocol import NON_FINITE
from dltrack.wire.records import EpochRecord, ModelRecord, TrainingRecord


def _store(store: str | None) -> Store:
    return open_store(config.resolve(None, store).store_url)


def create_model(name: str, *, store: str | None = None) -> ModelRecord:
    """Create a model and return it; its `key` is what `Tracker` and `%dltrack` take."""
    name = check_name(name)
    s = _store(store)
    try:
        return s.create_model(name)
    finally:
        s.close()


def list_models(*, store: str | None = None) -> list[ModelRecord]:
    s = _store(store)
    try:
        return s.list_models()
    finally:
        s.close()


def get_model(s: Store, model_key: str) -> ModelRecord:
    model = s.get_model(check_model_ref(model_key))
    if model is None:
        raise UnknownModelError(model_id_of(model_key))
    return model


def find_training(s: Store, model_key: str, ref: str) -> TrainingRecord:
    """A training of the model by id or by number (`3` or `#3`)."""
    trainings = s.list_trainings(model_key)
    for t in trainings:
        if t.training_id == ref or ref.lstrip("#") == str(t.number):
            return t
    kind = "id" if is_training_id(ref) else "number"
    raise ConfigError(
        f"model {model_key} has no training with {kind} {ref!r}; "
        f"list them with `dltrack trainings list {model_key}`"
    )


def history(model_key: str, *, store: str | None = None) -> Any:
    """Every epoch of every training of the model, as a pandas DataFrame.

    One row per epoch: `training` (number), `training_id`, `status`, `epoch` (0-based, as
    stored), then one column per metric: the columns of `dltrack trainings list KEY --csv` and of
    the widget's ⤓ CSV download (which holds the trainings it shows). Needs pandas
    (`pip install pandas`).
    """
    try:
        import pandas as pd
    except ImportError:
        raise ConfigError("dltrack.history needs pandas: pip install pandas") from None
    return pd.DataFrame(history_rows(model_key, store=store))


def history_rows(model_key: str, *, store: str | None = None) -> list[dict[str, Any]]:
    s = _store(store)
    try:
        get_model(s, model_key)
        rows: list[dict[str, Any]] = []
        for t in s.list_trainings(model_key):
            for e in s.list_epochs(model_key, t.training_id):
                rows.append(epoch_row(t, e))
        return rows
    finally:
        s.close()


def epoch_row(t: TrainingRecord, e: EpochRecord) -> dict[str, Any]:
    return {
        "training": t.number,
        "training_id": t.training_id,
        "status": t.status,
        "epoch": e.epoch,
        **e.logs,
        # In a DataFrame, a metric that became NaN or infinite is that float again.
        **{name: NON_FINITE[marker] for name, marker in e.non_finite.items()},
    }


@contextmanager
def open_settings_store(store: str | None = None) -> Iterator[Store]:
    """The configured store, closed on exit."""
    s = _store(store)
    try:
        yield s
    finally:
        s.close()


def find_or_create_model(name: str, *, store: str | None = None) -> ModelRecord:
    """The model called `name` whose key this store keeps, else a new one (with its key)."""
    with open_settings_store(store) as s:
        for model in s.list_models():
            # A store that keeps only ids (Firestore) cannot give the key back: make another.
            if model.name == name and model.key:
                return model
        return s.create_model(check_name(name))


def write_csv(trainings: list[dict[str, Any]], out: TextIO) -> None:
    """One CSV row per epoch of every training, one column per metric."""
    rows = [
        {
            "training": t["number"],
            "training_id": t["training_id"],
            "status": t["status"],
            "epoch": e["epoch"],
            **e["logs"],
            **(e.get("non_finite") or {}),  # "nan", "inf": what pandas and spreadsheets read
        }
        for t in trainings
        for e in t["epochs"]
    ]
    columns = list(dict.fromkeys(name for row in rows for name in row))
    writer = csv.DictWriter(out, fieldnames=columns or ["training"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
