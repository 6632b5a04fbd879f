"""Following a model in Firestore with realtime listeners (`on_snapshot`), not by polling.

Firestore bills a document read per document a listener delivers: the whole result once when it
starts, then each changed document. Listened to: the model document, its trainings, and the
epochs of the trainings still running; a finished training's epochs are read once (and again
only if its `epochs_done` changes, as when a spooled epoch lands late). A viewer left open on a
finished model then reads nothing more.

The listeners' callbacks run on firebase-admin's threads; they only store what arrived and call
`on_change`. The owner thread's `current()` assembles the history, starts and stops epoch
listeners, and re-establishes broken ones: the library resumes a stream by itself after a
transient error (the channel's connectivity shows it meanwhile); one it gives up on
 (the emulator restarted, the server refused) is found
inactive here, and `current()` raises `BackendError`: the owner (viewing/store_side.py) opens a
new store with back-off and follows again, the new listeners' first snapshots delivering
whatever changed meanwhile.
"""

from __future__ import annotations

import logging
import threading
from contextlib import suppress
from typing import Any

import grpc

from dltrack.backends.firestore_store import FirestoreStore, epoch_from_doc, training_from_doc
from dltrack.backends.follow import Follow, History, OnChange
from dltrack.wire.errors import BackendError
from dltrack.wire.keys import is_model_key, model_id_of
from dltrack.wire.records import EpochRecord, TrainingRecord
from dltrack.wire.timing import FIRESTORE_RETRY_DEADLINE_S

log = logging.getLogger("dltrack")

# IDLE: no call under way (between a stream's end and its resumption, briefly).
_CONNECTED = (grpc.ChannelConnectivity.READY, grpc.ChannelConnectivity.IDLE)


class FirestoreFollow(Follow):
    def __init__(self, store: FirestoreStore, model: str, on_change: OnChange) -> None:
        self._store = store
        # `model`: the key where the viewer holds it, else the public id; documents are
        # named by the id, and only the id ever appears in an error.
        self._key = model
        self._id = model_id_of(model)
        self._on_change = on_change
        self._lock = threading.Lock()
        self._watches: list[Any] = []
        self._epoch_watches: dict[str, Any] = {}
        # The gRPC channel's state, which the listeners' streams share (a public gRPC API:
        # the library resumes a broken stream silently, and says nothing while it tries).
        self._channel = store.grpc_channel()
        self._connectivity: Any = grpc.ChannelConnectivity.READY
        self._channel.subscribe(self._on_connectivity, try_to_connect=False)
        self._model: Any = None  # the model's DocumentSnapshot
        self._trainings: dict[str, TrainingRecord] = {}
        self._live_epochs: dict[str, dict[int, EpochRecord]] = {}
        self._read: dict[str, tuple[int, list[EpochRecord]]] = {}  # finished: read once
        # Events are not listened to: a running training's reach viewers live (event messages,
        # heartbeats); the store's are read once per training state (a new epoch, its end).
        self._events_read: dict[str, tuple[tuple[str, int], list[dict[str, Any]]]] = {}
        self._first = {"model": threading.Event(), "trainings": threading.Event()}
        # Documents the listeners delivered, as Firestore bills them (bench/cost.py).
        self.delivered = 0
        self._start()

    # -- listeners (their callbacks run on firebase-admin's threads) ----------------------------

    def _start(self) -> None:
        for event in self._first.values():
            event.clear()
        try:
            self._watches = [
                self._store.model_ref(self._key).on_snapshot(self._on_model),
                self._store.trainings_ref(self._key).on_snapshot(self._on_trainings),
            ]
            for name, event in self._first.items():
                if not event.wait(FIRESTORE_RETRY_DEADLINE_S):
                    raise BackendError(f"the store's {name} listener got no first snapshot")
        except BackendError:
            self._stop()
            raise
        self.status = "following"

    def _stop(self) -> None:
        with suppress(Exception):  # a closed channel has no subscribers left anyway
            self._channel.unsubscribe(self._on_connectivity)
        for watch in [*self._watches, *self._epoch_watches.values()]:
            try:
                watch.unsubscribe()
            except Exception:
                log.debug("closing a store listener", exc_info=True)
        self._watches, self._epoch_watches = [], {}

    def _on_connectivity(self, connectivity: Any) -> None:
        self._connectivity = connectivity
        self._on_change()

    def _on_model(self, docs: list[Any], changes: list[Any], _read_time: Any) -> None:
        with self._lock:
            self.delivered += len(changes)
            self._model = docs[0] if docs else None
        self._first["model"].set()
        self._on_change()

    def _on_trainings(self, docs: list[Any], changes: list[Any], _read_time: Any) -> None:
        with self._lock:
            self.delivered += len(changes)
            self._trainings = {d.id: training_from_doc(self._id, d) for d in docs}
        self._first["trainings"].set()
        self._on_change()

    def _on_epochs(self, training_id: str, docs: list[Any], changes: list[Any], _t: Any) -> None:
        with self._lock:
            self.delivered += len(changes)
            records = (epoch_from_doc(d) for d in docs)
            self._live_epochs[training_id] = {r.epoch: r for r in records}
        self._on_change()

    # -- the owner thread -----------------------------------------------------------------------

    def current(self) -> History:
        watches = [*self._watches, *self._epoch_watches.values()]
        if not all(w.is_active for w in watches):
            # The library gave up on a stream. The owner opens a new store (a fresh gRPC
            # channel) and follows afresh, with back-off; the new listeners' first snapshots
            # bring whatever changed meanwhile.
            raise BackendError("the store's listeners broke; re-establishing them")
        if self._connectivity in _CONNECTED:
            self.status, self.detail = "following", ""
        else:  # the library resumes the streams by itself once the server answers; say so
            self.status = "reconnecting"
            self.detail = "lost the store's listeners; they resume when it answers again"
        with self._lock:
            model, trainings = self._model, dict(self._trainings)
        if model is None or not model.exists:
            raise self._store.missing(self._key)
        epochs = {tid: self._epochs_of(t) for tid, t in trainings.items()}
        events = {tid: self._events_of(t) for tid, t in trainings.items()}
        for tid in set(self._epoch_watches) - {t for t, r in trainings.items() if _live(r)}:
            self._epoch_watches.pop(tid).unsubscribe()
        record = FirestoreStore.model_from_doc(model)
        record.key = self._key if is_model_key(self._key) else ""
        return History(
            record,
            sorted(trainings.values(), key=lambda t: t.number),
            epochs,
            events,
        )

    def _events_of(self, t: TrainingRecord) -> list[dict[str, Any]]:
        tid, state = t.training_id, (t.status, t.epochs_done)
        read = self._events_read.get(tid)
        if read is None or read[0] != state:
            read = (state, self._store.list_events(self._key, tid))
            self._events_read[tid] = read
        return read[1]

    def _epochs_of(self, t: TrainingRecord) -> list[EpochRecord]:
        tid = t.training_id
        if _live(t):
            if tid not in self._epoch_watches:
                ref = self._store.epochs_ref(self._key, tid)
                self._epoch_watches[tid] = ref.on_snapshot(
                    lambda docs, changes, at: self._on_epochs(tid, docs, changes, at)
                )
            with self._lock:
                return sorted(self._live_epochs.get(tid, {}).values(), key=lambda r: r.epoch)
        read = self._read.get(tid)
        if read is None or read[0] != t.epochs_done:
            with self._lock:
                held = self._live_epochs.pop(tid, None)
            if held is not None and len(held) == t.epochs_done:
                # Followed to its end: nothing left to read.
                epochs = sorted(held.values(), key=lambda r: r.epoch)
            else:
                epochs = self._store.list_epochs(self._key, tid)
            read = (t.epochs_done, epochs)
            self._read[tid] = read
        return read[1]

    def close(self) -> None:
        self._stop()


def _live(t: TrainingRecord) -> bool:
    return t.status == "running"
