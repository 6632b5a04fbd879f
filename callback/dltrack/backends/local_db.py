"""The embedded default's SQLite file: one schema shared by the local Broker and Store.

WAL mode lets one writer and many readers in several processes work at once; every connection
waits (busy_timeout) instead of failing when another process holds the write lock.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from dltrack.wire.errors import ConfigError

SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    key TEXT PRIMARY KEY, name TEXT NOT NULL, created_at REAL NOT NULL,
    train_count INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS trainings (
    model_key TEXT NOT NULL, training_id TEXT NOT NULL, number INTEGER NOT NULL,
    status TEXT NOT NULL, params TEXT NOT NULL, started_at REAL NOT NULL, ended_at REAL,
    last_seen REAL, epochs_done INTEGER NOT NULL DEFAULT 0, final_logs TEXT NOT NULL,
    stop TEXT, reason TEXT, PRIMARY KEY (model_key, training_id));
CREATE TABLE IF NOT EXISTS epochs (
    model_key TEXT NOT NULL, training_id TEXT NOT NULL, epoch INTEGER NOT NULL,
    logs TEXT NOT NULL, steps INTEGER, started_at REAL, ended_at REAL,
    PRIMARY KEY (model_key, training_id, epoch));
CREATE TABLE IF NOT EXISTS events (
    model_key TEXT NOT NULL, training_id TEXT NOT NULL, id TEXT NOT NULL, at REAL NOT NULL,
    body TEXT NOT NULL, PRIMARY KEY (model_key, training_id, id));
CREATE TABLE IF NOT EXISTS updates (
    id INTEGER PRIMARY KEY AUTOINCREMENT, model_key TEXT NOT NULL, ts REAL NOT NULL,
    body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS updates_by_key ON updates (model_key, id);
CREATE TABLE IF NOT EXISTS commands (
    id INTEGER PRIMARY KEY AUTOINCREMENT, model_key TEXT NOT NULL, target TEXT NOT NULL,
    ts REAL NOT NULL, body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS commands_by_key ON commands (model_key, id);
CREATE TABLE IF NOT EXISTS listeners (
    model_key TEXT NOT NULL, training_id TEXT NOT NULL, last_seen REAL NOT NULL,
    PRIMARY KEY (model_key, training_id));
"""


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the dltrack database at `path`."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=15.0, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 15000")
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL is durable across process crashes in WAL mode (only an OS crash can lose the
        # last commits), and saves an fsync per write.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.executescript(SCHEMA)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(
            f"cannot use the local database {path}: {exc}; set DLTRACK_HOME to a writable directory"
        ) from None
    return conn
