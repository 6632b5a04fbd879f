"""Following a model in a Store: what a viewer needs (the model, its trainings, their epochs
and events),
read again only when it may have changed.

`Store.follow` returns a `Follow`. The default, `PollingFollow`, re-reads the store whenever
its owner asks (every `REFRESH_S`), skipping the epochs of finished trainings it already
holds: right for the local SQLite store, where a read costs microseconds. Firestore bills every
document read, so `FirestoreStore.follow` listens instead (backends/firestore_follow.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dltrack.wire.errors import UnknownModelError
from dltrack.wire.keys import model_id_of
from dltrack.wire.records import EpochRecord, ModelRecord, TrainingRecord
from dltrack.wire.timing import REFRESH_S

if TYPE_CHECKING:
    from dltrack.backends.store import Store

OnChange = Callable[[], None]


@dataclass(frozen=True)
class History:
    model: ModelRecord
    trainings: list[TrainingRecord]
    epochs: dict[str, list[EpochRecord]]
    # Each training's events (commands carried out, rules fired, its end), oldest first.
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class Follow(ABC):
    """A followed model, owned by the thread that called `Store.follow` (which also owns the
    store). `on_change`, given to `follow`, may be called from any thread: it only says "call
    `current()` soon"."""

    # How often the owner calls `current()` unprompted: to poll, or to check the listeners.
    refresh_s: float = REFRESH_S
    # "polling", "following" (listeners up) or "reconnecting" (listeners broken, being
    # re-established with back-off); `detail` says why in one line.
    status: str = "polling"
    detail: str = ""

    @abstractmethod
    def current(self) -> History:
        """What the store holds now. Raises `UnknownModelError`, `BackendError`."""

    def close(self) -> None:  # noqa: B027 - nothing to release by default
        """Stop following; never raises."""


class PollingFollow(Follow):
    def __init__(self, store: Store, model: str) -> None:
        self._store = store
        # The key where the viewer holds it (the store can then tell a model that awaits
        # `dltrack migrate`), else the public id, which names every document.
        self._model = model
        self._id = model_id_of(model)
        self._epochs_read: dict[
            str, tuple[tuple[str, int], list[EpochRecord], list[dict[str, Any]]]
        ] = {}

    def current(self) -> History:
        key = self._id
        model = self._store.get_model(self._model)
        if model is None:
            raise UnknownModelError(key)
        trainings = self._store.list_trainings(key)
        epochs, events = {}, {}
        for t in trainings:
            # Epochs of a finished training never change: read them once, not every refresh.
            tid = t.training_id
            seen = self._epochs_read.get(tid)
            if seen is None or seen[0] != (t.status, t.epochs_done) or t.status == "running":
                seen = (
                    (t.status, t.epochs_done),
                    self._store.list_epochs(key, tid),
                    self._store.list_events(key, tid),
                )
                self._epochs_read[tid] = seen
            epochs[tid], events[tid] = seen[1], seen[2]
        return History(model, trainings, epochs, events)
