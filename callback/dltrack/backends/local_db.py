"""The embedded default's SQLite file: one schema shared by the local Broker and Store.

WAL mode lets one writer and many readers in several processes work at once; every connection
waits (busy_timeout) instead of failing when another process holds the write lock.

Rows name a model by its public id (`wire.keys.model_id`). The `models` table also keeps the key
itself: this file lives on the owner's machine, and it is where `dltrack models list` finds the
keys again. Files written before model ids (rows keyed by the raw key) are migrated on open.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from dltrack.wire.errors import ConfigError
from dltrack.wire.keys import model_id
from dltrack.wire.timing import SQLITE_BUSY_TIMEOUT_S

# Before model ids: every table named the model by its key. The broker's tables hold only
# seconds of traffic, so they are dropped, not converted.
_MIGRATE_FROM_KEYS = """
ALTER TABLE models RENAME TO models_by_key;
ALTER TABLE trainings RENAME TO trainings_by_key;
ALTER TABLE epochs RENAME TO epochs_by_key;
DROP TABLE IF EXISTS updates;
DROP TABLE IF EXISTS commands;
DROP TABLE IF EXISTS listeners;
"""
_COPY_FROM_KEYS = """
INSERT INTO models (id, key, name, created_at, train_count)
    SELECT dltrack_model_id(key), key, name, created_at, train_count FROM models_by_key;
INSERT INTO trainings SELECT dltrack_model_id(model_key), training_id, number, status, params,
    started_at, ended_at, last_seen, epochs_done, final_logs, stop, reason FROM trainings_by_key;
INSERT INTO epochs (model_id, training_id, epoch, logs, steps, started_at, ended_at)
    SELECT dltrack_model_id(model_key), training_id, epoch, logs, steps, started_at, ended_at
    FROM epochs_by_key;
DROP TABLE models_by_key;
DROP TABLE trainings_by_key;
DROP TABLE epochs_by_key;
"""
# Files written by the first release with events (before model ids) have an events table too.
_MIGRATE_EVENTS = "ALTER TABLE events RENAME TO events_by_key;"
_COPY_EVENTS = """
INSERT INTO events SELECT dltrack_model_id(model_key), training_id, id, at, body
    FROM events_by_key;
DROP TABLE events_by_key;
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    id TEXT PRIMARY KEY, key TEXT, name TEXT NOT NULL, created_at REAL NOT NULL,
    train_count INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS trainings (
    model_id TEXT NOT NULL, training_id TEXT NOT NULL, number INTEGER NOT NULL,
    status TEXT NOT NULL, params TEXT NOT NULL, started_at REAL NOT NULL, ended_at REAL,
    last_seen REAL, epochs_done INTEGER NOT NULL DEFAULT 0, final_logs TEXT NOT NULL,
    stop TEXT, reason TEXT, PRIMARY KEY (model_id, training_id));
CREATE TABLE IF NOT EXISTS epochs (
    model_id TEXT NOT NULL, training_id TEXT NOT NULL, epoch INTEGER NOT NULL,
    logs TEXT NOT NULL, steps INTEGER, started_at REAL, ended_at REAL, non_finite TEXT,
    PRIMARY KEY (model_id, training_id, epoch));
CREATE TABLE IF NOT EXISTS events (
    model_id TEXT NOT NULL, training_id TEXT NOT NULL, id TEXT NOT NULL, at REAL NOT NULL,
    body TEXT NOT NULL, PRIMARY KEY (model_id, training_id, id));
CREATE TABLE IF NOT EXISTS updates (
    id INTEGER PRIMARY KEY AUTOINCREMENT, model_id TEXT NOT NULL, ts REAL NOT NULL,
    body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS updates_by_model ON updates (model_id, id);
CREATE TABLE IF NOT EXISTS commands (
    id INTEGER PRIMARY KEY AUTOINCREMENT, model_id TEXT NOT NULL, target TEXT NOT NULL,
    ts REAL NOT NULL, body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS commands_by_model ON commands (model_id, id);
CREATE TABLE IF NOT EXISTS listeners (
    model_id TEXT NOT NULL, training_id TEXT NOT NULL, last_seen REAL NOT NULL,
    PRIMARY KEY (model_id, training_id));
"""


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the dltrack database at `path`."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL is durable across process crashes in WAL mode (only an OS crash can lose the
        # last commits), and saves an fsync per write.
        conn.execute("PRAGMA synchronous = NORMAL")
        _migrate(conn)
        conn.executescript(SCHEMA)
        _add_non_finite(conn)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(
            f"cannot use the local database {path}: {exc}; set DLTRACK_HOME to a writable directory"
        ) from None
    return conn


def _migrate(conn: sqlite3.Connection) -> None:
    """Convert a file from before model ids, in one transaction (all or nothing)."""
    columns = [row[1] for row in conn.execute("PRAGMA table_info(models)")]
    if not columns or "id" in columns:
        return
    conn.create_function("dltrack_model_id", 1, model_id, deterministic=True)
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have migrated while this one waited for the lock.
        if "id" not in [row[1] for row in conn.execute("PRAGMA table_info(models)")]:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            events = "events" in tables
            script = (
                (_MIGRATE_EVENTS if events else "")
                + _MIGRATE_FROM_KEYS
                + SCHEMA
                + _COPY_FROM_KEYS
                + (_COPY_EVENTS if events else "")
            )
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _add_non_finite(conn: sqlite3.Connection) -> None:
    """Files from before NaN markers lack the epochs' `non_finite` column. Older dltracks name
    their columns in every statement, so they go on reading and writing the file."""
    if "non_finite" in [row[1] for row in conn.execute("PRAGMA table_info(epochs)")]:
        return
    try:
        conn.execute("ALTER TABLE epochs ADD COLUMN non_finite TEXT")
    except sqlite3.OperationalError as exc:
        if "duplicate column" not in str(exc):  # another process added it meanwhile
            raise
