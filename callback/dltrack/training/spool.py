"""An on-disk queue of store writes that have not reached the store yet.

Every record the Tracker hands to the store goes here first and leaves only once the store has
accepted it, so neither an outage nor a crash of the training process loses an epoch. One spool
per store URL (a hash of it names the file: two stores never replay into each other). Each write
to the store is idempotent, but their order matters (a training's `end` must not be followed by
one of its older `update`s), so one thread or process at a time replays a spool: the holder of
its lock file (an advisory `flock`, released by the system if the holder dies).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no advisory lock; replays may overlap there (rarely)
    fcntl = None  # type: ignore[assignment]

from dltrack.wire.errors import ConfigError
from dltrack.wire.timing import SQLITE_BUSY_TIMEOUT_S

# Far more than any training writes (a record per epoch, plus a handful per training); past it
# the oldest rows go, so a years-long outage cannot fill the disk.
MAX_ROWS = 100_000


@dataclass(frozen=True)
class SpoolRow:
    id: int
    model_key: str
    training_id: str
    op: str
    payload: dict[str, Any]


def spool_path(spool_dir: Path, store_url: str) -> Path:
    digest = hashlib.sha256(store_url.encode()).hexdigest()[:16]
    return spool_dir / f"{digest}.db"


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS pending (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                "model_key TEXT NOT NULL, training_id TEXT NOT NULL, op TEXT NOT NULL, "
                "payload TEXT NOT NULL)"
            )
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"cannot use the spool {path}: {exc}; set DLTRACK_HOME to a writable directory"
            ) from None

    def append(self, model_key: str, training_id: str, op: str, payload: dict[str, Any]) -> int:
        cur = self._conn.execute(
            "INSERT INTO pending (model_key, training_id, op, payload) VALUES (?, ?, ?, ?)",
            (model_key, training_id, op, json.dumps(payload)),
        )
        row_id = int(cur.lastrowid or 0)
        if row_id % 1000 == 0:
            self._conn.execute(
                "DELETE FROM pending WHERE id <= (SELECT MAX(id) FROM pending) - ?", (MAX_ROWS,)
            )
        return row_id

    def pending(self, limit: int = 100, skip: frozenset[str] = frozenset()) -> list[SpoolRow]:
        """The oldest rows, but none of the models in `skip`."""
        marks = ", ".join("?" * len(skip))
        rows = self._conn.execute(
            "SELECT id, model_key, training_id, op, payload FROM pending "
            f"WHERE model_key NOT IN ({marks}) ORDER BY id LIMIT ?",
            (*sorted(skip), limit),
        ).fetchall()
        return [SpoolRow(i, k, t, op, json.loads(p)) for i, k, t, op, p in rows]

    def rows_of(self, model_keys: frozenset[str]) -> list[SpoolRow]:
        """Every row of these models, oldest first."""
        marks = ", ".join("?" * len(model_keys))
        rows = self._conn.execute(
            "SELECT id, model_key, training_id, op, payload FROM pending "
            f"WHERE model_key IN ({marks}) ORDER BY id",
            tuple(sorted(model_keys)),
        ).fetchall()
        return [SpoolRow(i, k, t, op, json.loads(p)) for i, k, t, op, p in rows]

    def remove(self, *row_ids: int) -> None:
        # One transaction (the connection autocommits otherwise): a batch's rows go together.
        self._conn.execute("BEGIN")
        with self._conn:  # commits, or rolls back on an error
            self._conn.executemany("DELETE FROM pending WHERE id = ?", [(i,) for i in row_ids])

    def drop_model(self, model_key: str) -> int:
        """Forget every row of a model the store does not know (they can never be written)."""
        return self._conn.execute("DELETE FROM pending WHERE model_key = ?", (model_key,)).rowcount

    def count(self, training_id: str | None = None) -> int:
        if training_id is None:
            row = self._conn.execute("SELECT COUNT(*) FROM pending").fetchone()
        else:
            row = self._conn.execute(
                "SELECT COUNT(*) FROM pending WHERE training_id = ?", (training_id,)
            ).fetchone()
        return int(row[0])

    @contextmanager
    def replaying(self, wait: float = 0.0) -> Iterator[bool]:
        """Hold the right to replay this spool; yields False if another thread or process
        holds it for longer than `wait` seconds."""
        if fcntl is None:
            yield True
            return
        fd = os.open(self.path.with_suffix(".lock"), os.O_CREAT | os.O_RDWR, 0o600)
        try:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError:
                    if time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(0.05)
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def close(self) -> None:
        self._conn.close()
