"""From Watchers (their own threads) to the page's websockets (the server's event loop).

One Watcher per model key for the whole server, however many pages are open. Each keeps the
latest payload the widget would sync (`split_snapshot`: `state`, and `history` only when it
changed); every open page is woken on a change and sends what it has not sent yet, so a slow
phone gets the newest snapshot, never a backlog.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from dltrack.viewing.watcher import Watcher

from .._payload import history_signature, split_snapshot


class Feed:
    """The latest payload of one Watcher, with a version that grows on every change."""

    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher
        self._lock = threading.Lock()
        self.version = 0
        self.state: dict[str, Any] = {}
        self.history: dict[str, list[Any]] = {}
        self.history_version = 0
        self._signature: tuple[tuple[str, int], ...] | None = None
        self.show(watcher.snapshot())

    def show(self, snapshot: dict[str, Any]) -> None:
        state, history = split_snapshot(snapshot)
        signature = history_signature(history)
        with self._lock:
            self.version += 1
            self.state = state
            if signature != self._signature:
                self._signature = signature
                self.history = history
                self.history_version = self.version

    def values_since(self, version: int) -> tuple[int, dict[str, Any]]:
        """(current version, the traits that changed after `version`)."""
        with self._lock:
            values: dict[str, Any] = {"state": self.state}
            if self.history_version > version:
                values["history"] = self.history
            return self.version, values


class Hub:
    """Every Feed of the server, and the wake-up of every page waiting for news."""

    def __init__(self, watchers: list[Watcher]) -> None:
        self.feeds = [Feed(w) for w in watchers]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: set[asyncio.Event] = set()

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Begin forwarding Watcher changes into `loop` (the server's)."""
        self._loop = loop
        for feed in self.feeds:
            feed.watcher.add_listener(self._listener(feed))

    def _listener(self, feed: Feed) -> Any:
        def listen(snapshot: dict[str, Any]) -> None:  # on a Watcher thread
            feed.show(snapshot)
            loop = self._loop
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self._wake)

        return listen

    def _wake(self) -> None:
        for event in self._waiting:
            event.set()

    def subscribe(self) -> asyncio.Event:
        event = asyncio.Event()
        event.set()  # a new page gets everything at once
        self._waiting.add(event)
        return event

    def unsubscribe(self, event: asyncio.Event) -> None:
        self._waiting.discard(event)

    def close(self) -> None:
        for feed in self.feeds:
            feed.watcher.close()
