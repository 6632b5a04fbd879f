"""The Store interface: infrequent, persistent records (models, trainings, epochs,
events).

Implementations: `backends.local_store.LocalStore` (SQLite, the embedded default) and
`backends.firestore_store.FirestoreStore`. Batch-level progress never reaches a Store. Methods
raise `BackendError` when the server cannot be reached.

`model` names a model by its key or by its public id (`wire.keys.model_id_of`): every record is
filed under the id, so a store never holds a key as a document id (docs/security.md).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Literal

from dltrack.backends.follow import Follow, OnChange, PollingFollow
from dltrack.wire.records import EpochRecord, ModelRecord, TrainingRecord

# One write of a training's records: ("epoch", an EpochRecord), ("event", an event as
# `add_event` takes it) or ("update", the fields `update_training` takes).
TrainingWrite = tuple[Literal["epoch", "event", "update"], Any]


class Store(ABC):
    @abstractmethod
    def create_model(self, name: str) -> ModelRecord: ...

    @abstractmethod
    def get_model(self, model: str) -> ModelRecord | None: ...

    @abstractmethod
    def list_models(self) -> list[ModelRecord]: ...

    @abstractmethod
    def rename_model(self, model: str, name: str) -> bool: ...

    @abstractmethod
    def delete_model(self, model: str) -> bool:
        """Delete the model with all its trainings and epochs; False if there was none."""

    @abstractmethod
    def start_training(
        self, model: str, training_id: str, params: dict[str, Any], started_at: float
    ) -> int:
        """Record a running training and return its number (1, 2, 3… per model, atomic).

        Idempotent: starting the same training id again returns the number it already has.
        Raises `UnknownModelError` when the model does not exist.
        """

    @abstractmethod
    def update_training(self, model: str, training_id: str, **fields: Any) -> None:
        """Change some of `records.TRAINING_UPDATE_FIELDS` of a training."""

    @abstractmethod
    def get_training(self, model: str, training_id: str) -> TrainingRecord | None: ...

    @abstractmethod
    def list_trainings(self, model: str) -> list[TrainingRecord]:
        """Trainings of the model, by number ascending."""

    @abstractmethod
    def delete_training(self, model: str, training_id: str) -> bool: ...

    @abstractmethod
    def write_epoch(self, model: str, training_id: str, record: EpochRecord) -> None:
        """Write one epoch; writing the same epoch again replaces it (never duplicates)."""

    @abstractmethod
    def list_epochs(self, model: str, training_id: str) -> list[EpochRecord]: ...

    def write_batch(self, model: str, training_id: str, writes: Sequence[TrainingWrite]) -> None:
        """Apply these writes of one training, in order, each as its own method would.

        A store that can commits them at once (Firestore: one atomic batch, one round trip);
        by default they go one by one, each idempotent, so a failure part-way is repaired by
        applying the same writes again.
        """
        for kind, body in writes:
            if kind == "epoch":
                self.write_epoch(model, training_id, body)
            elif kind == "event":
                self.add_event(model, training_id, body)
            else:
                self.update_training(model, training_id, **body)

    def migrate_legacy(self) -> list[ModelRecord]:
        """Move models an older dltrack filed under their keys; the moved ones (with keys).

        Nothing to do by default: the local store migrates as it opens (`local_db`).
        """
        return []

    def follow(self, model_key: str, on_change: OnChange) -> Follow:
        """Follow the model's history (backends/follow.py); polls unless overridden."""
        return PollingFollow(self, model_key)

    @abstractmethod
    def add_event(self, model: str, training_id: str, event: dict[str, Any]) -> None:
        """Record one event of a training (`protocol.event_ok` shape, with an `id`); writing
        the same id again replaces it. Deleting the training deletes its events."""

    @abstractmethod
    def list_events(self, model: str, training_id: str) -> list[dict[str, Any]]:
        """The training's events, oldest first."""

    @abstractmethod
    def close(self) -> None: ...
