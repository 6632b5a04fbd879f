"""The embedded store: models, trainings and epochs in the local SQLite file."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dltrack.backends.local_db import connect
from dltrack.backends.store import Store
from dltrack.wire.errors import BackendError, UnknownModelError
from dltrack.wire.keys import model_id_of, new_model_key
from dltrack.wire.records import (
    TRAINING_UPDATE_FIELDS,
    EpochRecord,
    ModelRecord,
    TrainingRecord,
    as_status,
    non_finite_of,
)

_JSON_FIELDS = ("params", "final_logs", "stop")
_TRAINING_COLUMNS = (
    "model_id, training_id, number, status, params, started_at, ended_at, last_seen, "
    "epochs_done, final_logs, stop, reason"
)


def _training(row: tuple[Any, ...]) -> TrainingRecord:
    (mid, tid, number, status, params, started, ended, seen, done, final, stop, reason) = row
    return TrainingRecord(
        model_id=mid,
        training_id=tid,
        number=number,
        status=as_status(status),
        params=json.loads(params),
        started_at=started,
        ended_at=ended,
        last_seen=seen,
        epochs_done=done,
        final_logs=json.loads(final),
        stop=json.loads(stop) if stop else None,
        reason=reason,
    )


class LocalStore(Store):
    def __init__(self, path: Path) -> None:
        self._conn = connect(path)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise BackendError(f"local store: {exc}") from None

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise BackendError(f"local store: {exc}") from None

    def create_model(self, name: str) -> ModelRecord:
        record = ModelRecord(key=new_model_key(), name=name, created_at=time.time())
        with self._transaction() as db:
            db.execute(
                "INSERT INTO models (id, key, name, created_at, train_count) "
                "VALUES (?, ?, ?, ?, 0)",
                (record.id, record.key, record.name, record.created_at),
            )
        return record

    def get_model(self, model: str) -> ModelRecord | None:
        mid = model_id_of(model)
        rows = self._query(
            "SELECT key, name, created_at, train_count, id FROM models WHERE id = ?", (mid,)
        )
        return ModelRecord(*rows[0]) if rows else None

    def list_models(self) -> list[ModelRecord]:
        rows = self._query(
            "SELECT key, name, created_at, train_count, id FROM models ORDER BY created_at"
        )
        return [ModelRecord(*row) for row in rows]

    def rename_model(self, model: str, name: str) -> bool:
        mid = model_id_of(model)
        with self._transaction() as db:
            return db.execute("UPDATE models SET name = ? WHERE id = ?", (name, mid)).rowcount > 0

    def delete_model(self, model: str) -> bool:
        mid = model_id_of(model)
        with self._transaction() as db:
            db.execute("DELETE FROM epochs WHERE model_id = ?", (mid,))
            db.execute("DELETE FROM events WHERE model_id = ?", (mid,))
            db.execute("DELETE FROM trainings WHERE model_id = ?", (mid,))
            return db.execute("DELETE FROM models WHERE id = ?", (mid,)).rowcount > 0

    def start_training(
        self, model: str, training_id: str, params: dict[str, Any], started_at: float
    ) -> int:
        mid = model_id_of(model)
        with self._transaction() as db:
            existing = db.execute(
                "SELECT number FROM trainings WHERE model_id = ? AND training_id = ?",
                (mid, training_id),
            ).fetchone()
            if existing:
                return int(existing[0])
            if (
                db.execute(
                    "UPDATE models SET train_count = train_count + 1 WHERE id = ?", (mid,)
                ).rowcount
                == 0
            ):
                raise UnknownModelError(mid)
            number = db.execute("SELECT train_count FROM models WHERE id = ?", (mid,)).fetchone()[0]
            db.execute(
                f"INSERT INTO trainings ({_TRAINING_COLUMNS}) "
                "VALUES (?, ?, ?, 'running', ?, ?, NULL, ?, 0, '{}', NULL, NULL)",
                (mid, training_id, number, json.dumps(params), started_at, started_at),
            )
        return int(number)

    def update_training(self, model: str, training_id: str, **fields: Any) -> None:
        mid = model_id_of(model)
        unknown = set(fields) - TRAINING_UPDATE_FIELDS
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        if not fields:
            return
        values = [
            json.dumps(v) if k in _JSON_FIELDS and v is not None else v for k, v in fields.items()
        ]
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self._transaction() as db:
            db.execute(
                f"UPDATE trainings SET {assignments} WHERE model_id = ? AND training_id = ?",
                (*values, mid, training_id),
            )

    def get_training(self, model: str, training_id: str) -> TrainingRecord | None:
        mid = model_id_of(model)
        rows = self._query(
            f"SELECT {_TRAINING_COLUMNS} FROM trainings WHERE model_id = ? AND training_id = ?",
            (mid, training_id),
        )
        return _training(rows[0]) if rows else None

    def list_trainings(self, model: str) -> list[TrainingRecord]:
        mid = model_id_of(model)
        rows = self._query(
            f"SELECT {_TRAINING_COLUMNS} FROM trainings WHERE model_id = ? ORDER BY number",
            (mid,),
        )
        return [_training(row) for row in rows]

    def delete_training(self, model: str, training_id: str) -> bool:
        mid = model_id_of(model)
        with self._transaction() as db:
            for table in ("epochs", "events"):
                db.execute(
                    f"DELETE FROM {table} WHERE model_id = ? AND training_id = ?",
                    (mid, training_id),
                )
            return (
                db.execute(
                    "DELETE FROM trainings WHERE model_id = ? AND training_id = ?",
                    (mid, training_id),
                ).rowcount
                > 0
            )

    def write_epoch(self, model: str, training_id: str, record: EpochRecord) -> None:
        mid = model_id_of(model)
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO epochs "
                "(model_id, training_id, epoch, logs, steps, started_at, ended_at, non_finite) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    mid,
                    training_id,
                    record.epoch,
                    json.dumps(record.logs),
                    record.steps,
                    record.started_at,
                    record.ended_at,
                    json.dumps(record.non_finite) if record.non_finite else None,
                ),
            )

    def list_epochs(self, model: str, training_id: str) -> list[EpochRecord]:
        mid = model_id_of(model)
        rows = self._query(
            "SELECT epoch, logs, steps, started_at, ended_at, non_finite FROM epochs "
            "WHERE model_id = ? AND training_id = ? ORDER BY epoch",
            (mid, training_id),
        )
        return [
            EpochRecord(e, json.loads(logs), s, a, b, non_finite_of(json.loads(marks or "{}")))
            for e, logs, s, a, b, marks in rows
        ]

    def add_event(self, model: str, training_id: str, event: dict[str, Any]) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO events (model_id, training_id, id, at, body) "
                "VALUES (?, ?, ?, ?, ?)",
                (model_id_of(model), training_id, event["id"], event["at"], json.dumps(event)),
            )

    def list_events(self, model: str, training_id: str) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT body FROM events WHERE model_id = ? AND training_id = ? ORDER BY at, id",
            (model_id_of(model), training_id),
        )
        return [json.loads(body) for (body,) in rows]

    def close(self) -> None:
        self._conn.close()
