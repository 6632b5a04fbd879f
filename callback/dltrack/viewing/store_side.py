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
from dltrack.backends.reconnect import Backoff
from dltrack.backends.store import Store
from dltrack.viewing import state as st
from dltrack.wire.errors import ConfigError, DltrackError, UnknownModelError
from dltrack.wire.timing import REFRESH_S, STORE_RECONNECT_CAP_S

log = logging.getLogger("dltrack")

Change = Callable[[st.MonitorState], st.MonitorState]
Update = Callable[[Change, Callable[[st.MonitorState, st.MonitorState], bool] | None], None]
Job = Callable[[Store], object]


def _no_job(store: Store) -> None:
    """A store job that does nothing: queuing it just triggers a look at the history."""


def _loaded(state: st.MonitorState, history: History, status: str, detail: str) -> st.MonitorState:
    state = st.load_history(state, history.model, history.trainings, history.epochs)
    return st.with_connection(state, store_status=status, store_detail=detail)


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
        store: Store | None = None
        follow: Follow | None = None
        backoff = Backoff(cap=STORE_RECONNECT_CAP_S)
        next_look = time.monotonic()
        while not self._closing.is_set():
            try:
                job = self.jobs.get(timeout=max(0.0, next_look - time.monotonic()))
            except queue.Empty:
                job = None
            if self._closing.is_set():
                break
            next_look = time.monotonic() + (follow.refresh_s if follow else REFRESH_S)
            try:
                if follow is None or store is None:
                    if not backoff.ready():
                        next_look = backoff.next_at
                        continue
                    store = open_store(self._url)
                    follow = store.follow(self._model_key, self.changed)
                if job is not None:
                    job(store)
                self._load(follow)
                backoff.succeeded()
            except UnknownModelError as exc:
                self._failed_first(exc)
                self._update(partial(st.with_error, error=str(exc)), None)
            except DltrackError as exc:
                log.debug("store refresh failed: %s", exc)
                self._failed_first(exc)
                self._close(follow, store)
                follow, store = None, None
                backoff.failed(final=isinstance(exc, ConfigError))
                reconnecting = partial(
                    st.with_connection, store_status="reconnecting", store_detail=str(exc)
                )
                self._update(reconnecting, None)
            except Exception:  # keep following the live feed regardless
                log.exception("dltrack: store refresh failed")
        self._close(follow, store)

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

    @staticmethod
    def _close(follow: Follow | None, store: Store | None) -> None:
        for thing in (follow, store):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # already broken
                    log.debug("close failed", exc_info=True)
