"""The embedded broker: updates and commands as rows of the local SQLite file, read by cursor.

Fan-out comes for free: each feed keeps its own cursor, so every viewer sees every row. Rows
older than `LOCAL_RETENTION_S` are pruned by publishers. A training announces that it listens for
commands by keeping a row in `listeners` fresh; `send_command` reports "nobody listening" when no
fresh row matches, as the AMQP broker does with a mandatory publish.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from pathlib import Path

from dltrack.backends.broker import Broker, Feed
from dltrack.backends.local_db import connect
from dltrack.wire.errors import BackendError
from dltrack.wire.keys import model_id_of
from dltrack.wire.protocol import ALL_TRAININGS, Command, Message, encode
from dltrack.wire.timing import (
    LOCAL_COMMAND_POLL_INTERVAL_S,
    LOCAL_LISTENER_FRESH_S,
    LOCAL_LISTENER_REFRESH_S,
    LOCAL_POLL_INTERVAL_S,
    LOCAL_PRUNE_EVERY_S,
    LOCAL_RETENTION_S,
)

# The command feeds open in this process, by database file: a command sent from the same
# process (a widget in the notebook that trains) wakes its training at once.
_command_feeds: dict[Path, weakref.WeakSet[_CommandFeed]] = {}
_command_feeds_lock = threading.Lock()


class _RowFeed(Feed):
    interval = LOCAL_POLL_INTERVAL_S

    def __init__(
        self, broker: LocalBroker, table: str, query: str, args: tuple[object, ...]
    ) -> None:
        self._broker = broker
        self._query = query
        self._args = args
        # Start at the newest row: a feed sees what is published after it opens, like a fresh
        # AMQP queue. Late viewers catch up from heartbeats and the store.
        self._cursor = broker._max_id(table)
        self._woken = threading.Event()

    def _fetch(self) -> list[bytes]:
        rows = self._broker._read(self._query, (*self._args, self._cursor))
        if rows:
            self._cursor = rows[-1][0]
        return [bytes(body) for _, body in rows]

    def poll(self, timeout: float) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while True:
            self.before_read()
            found = self._fetch()
            remaining = deadline - time.monotonic()
            if found or remaining <= 0 or self._woken.is_set():
                self._woken.clear()
                return found
            self._woken.wait(min(self.interval, remaining))

    def wake(self) -> None:
        self._woken.set()

    def before_read(self) -> None:
        """Hook run before each read (the command feed refreshes its presence here)."""

    def close(self) -> None:
        pass


class _CommandFeed(_RowFeed):
    interval = LOCAL_COMMAND_POLL_INTERVAL_S

    def __init__(self, broker: LocalBroker, model_id: str, training_id: str) -> None:
        query = (
            "SELECT id, body FROM commands WHERE model_id = ? AND target IN (?, ?) AND id > ? "
            "ORDER BY id LIMIT 200"
        )
        super().__init__(broker, "commands", query, (model_id, training_id, ALL_TRAININGS))
        self._model_id = model_id
        self._training_id = training_id
        self._seen_at = 0.0
        self.before_read()
        with _command_feeds_lock:
            _command_feeds.setdefault(broker.path, weakref.WeakSet()).add(self)

    def before_read(self) -> None:
        now = time.time()
        if now - self._seen_at >= LOCAL_LISTENER_REFRESH_S:
            self._broker._write(
                "INSERT OR REPLACE INTO listeners (model_id, training_id, last_seen) "
                "VALUES (?, ?, ?)",
                (self._model_id, self._training_id, now),
            )
            self._seen_at = now

    def close(self) -> None:
        with _command_feeds_lock:
            _command_feeds.get(self._broker.path, weakref.WeakSet()).discard(self)
        self._broker._write(
            "DELETE FROM listeners WHERE model_id = ? AND training_id = ?",
            (self._model_id, self._training_id),
        )


class LocalBroker(Broker):
    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        self._conn = connect(path)
        self._pruned_at = 0.0

    def _read(self, query: str, args: tuple[object, ...]) -> list[tuple[int, bytes]]:
        try:
            return self._conn.execute(query, args).fetchall()
        except sqlite3.Error as exc:
            raise BackendError(f"local broker: {exc}") from None

    def _write(self, query: str, args: tuple[object, ...]) -> None:
        try:
            self._conn.execute(query, args)
        except sqlite3.Error as exc:
            raise BackendError(f"local broker: {exc}") from None

    def _max_id(self, table: str) -> int:
        row = self._conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()
        return int(row[0])

    def _prune(self, now: float) -> None:
        if now - self._pruned_at < LOCAL_PRUNE_EVERY_S:
            return
        self._pruned_at = now
        self._write("DELETE FROM updates WHERE ts < ?", (now - LOCAL_RETENTION_S,))
        self._write("DELETE FROM commands WHERE ts < ?", (now - LOCAL_RETENTION_S,))
        self._write("DELETE FROM listeners WHERE last_seen < ?", (now - LOCAL_RETENTION_S,))

    def publish_update(self, message: Message) -> None:
        now = time.time()
        self._write(
            "INSERT INTO updates (model_id, ts, body) VALUES (?, ?, ?)",
            (message["model_id"], now, encode(message)),
        )
        self._prune(now)

    def subscribe_updates(self, model: str) -> Feed:
        query = "SELECT id, body FROM updates WHERE model_id = ? AND id > ? ORDER BY id LIMIT 500"
        return _RowFeed(self, "updates", query, (model_id_of(model),))

    def listen_commands(self, model: str, training_id: str) -> Feed:
        return _CommandFeed(self, model_id_of(model), training_id)

    def send_command(self, command: Command) -> bool:
        now = time.time()
        if command.target == ALL_TRAININGS:
            rows = self._read(
                "SELECT 1, '' FROM listeners WHERE model_id = ? AND last_seen > ?",
                (command.model_id, now - LOCAL_LISTENER_FRESH_S),
            )
        else:
            rows = self._read(
                "SELECT 1, '' FROM listeners WHERE model_id = ? AND training_id = ? "
                "AND last_seen > ?",
                (command.model_id, command.target, now - LOCAL_LISTENER_FRESH_S),
            )
        if not rows:
            return False
        self._write(
            "INSERT INTO commands (model_id, target, ts, body) VALUES (?, ?, ?, ?)",
            (command.model_id, command.target, now, encode(command.to_message())),
        )
        self._prune(now)
        with _command_feeds_lock:
            listening = list(_command_feeds.get(self.path, ()))
        for feed in listening:
            feed.wake()  # a spurious wake-up costs one read; finding the addressee, more code
        return True

    def close(self) -> None:
        self._conn.close()
