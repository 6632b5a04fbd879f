"""The Watcher's store thread: follows the model's history and runs the store jobs (deletes,
renames) the viewer asks for.

The history comes from `Store.follow` (backends/follow.py): re-read every few seconds from the
local store, pushed by realtime listeners from Firestore, which bills each document read. It
owns the store connection (SQLite ones belong to their thread).
"""

from __future__ import annotations

import logging
import operator
import queue
import threading
import time
from collections.abc import Callable
from functools import partial

from dltrack.backends import open_store
from dltrack.backends.follow import Follow, History
from dltrack.backends.reconnect import Reconnecting, close_quietly
from dltrack.backends.store import Store
from dltrack.viewing import state as st
from dltrack.wire.errors import DltrackError, UnknownModelError
from dltrack.wire.timing import STORE_RECONNECT_CAP_S

log = logging.getLogger("dltrack")

Change = Callable[[st.MonitorState], st.MonitorState]
Update = Callable[[Change, Callable[[st.MonitorState, st.MonitorState], bool] | None], None]
Job = Callable[[Store], object]


def _no_job(store: Store) -> None:
    """A store job that does nothing: queuing it just triggers a look at the history."""


def _loaded(state: st.MonitorState, history: History, status: str, detail: str) -> st.MonitorState:
    state = st.load_history(state, history.model, history.trainings, history.epochs, history.events)
    return st.with_connection(state, store_status=status, store_detail=detail)


class StoreLine:
    """A store connection and the follow of one model on it, opened and closed together."""

    def __init__(self, store: Store, follow: Follow) -> None:
        self.store = store
        self.follow = follow

    def close(self) -> None:
        close_quietly(self.follow, self.store)


class StoreSide:
    def __init__(
        self, store_url: str, model_key: str, update: Update, closing: threading.Event
    ) -> None:
        self._url = store_url
        self._model_key = model_key
        self._update = update
        self._closing = closing
        self.jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        # Set once the first history is in (or `first_error` says why it will not come).
        self.loaded = threading.Event()
        self.first_error: DltrackError | None = None

    def changed(self) -> None:
        """The store has news (a listener said so, or a live message hints at it)."""
        self.jobs.put(_no_job)

    def stop(self) -> None:
        self.jobs.put(None)

    def run(self) -> None:
        line: Reconnecting[StoreLine] = Reconnecting(
            self._open_line,
            name="store",
            cap=STORE_RECONNECT_CAP_S,
            on_failure=self._on_failure,
        )
        next_look = time.monotonic()
        while not self._closing.is_set():
            try:
                job = self.jobs.get(timeout=max(0.0, next_look - time.monotonic()))
            except queue.Empty:
                job = None
            if self._closing.is_set():
                break
            opened = line.get()
            if opened is None:
                next_look = line.backoff.next_at
                continue
            next_look = time.monotonic() + opened.follow.refresh_s
            try:
                if job is not None:
                    job(opened.store)
                self._load(opened.follow)
                line.succeeded()
            except UnknownModelError as exc:
                self._failed_first(exc)
                self._update(partial(st.with_error, error=str(exc)), None)
            except DltrackError as exc:
                line.failed(exc)
            except Exception:  # keep following the live feed regardless
                log.exception("dltrack: store refresh failed")
        line.close()

    def _open_line(self) -> StoreLine:
        store = open_store(self._url)
        try:
            return StoreLine(store, store.follow(self._model_key, self.changed))
        except BaseException:
            close_quietly(store)
            raise

    def _on_failure(self, exc: DltrackError, delay: float) -> None:
        self._failed_first(exc)
        reconnecting = partial(
            st.with_connection, store_status="reconnecting", store_detail=str(exc)
        )
        self._update(reconnecting, None)

    def _load(self, follow: Follow) -> None:
        history = follow.current()
        status, detail = follow.status, follow.detail
        # Mostly what is known already: news only if something changed.
        self._update(lambda s: _loaded(s, history, status, detail), operator.eq)
        self.loaded.set()

    def _failed_first(self, exc: DltrackError) -> None:
        if not self.loaded.is_set():
            self.first_error = exc
            self.loaded.set()
