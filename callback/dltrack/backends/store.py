"""The Store interface: infrequent, persistent records (models, trainings, epochs,
events).

Implementations: `backends.local_store.LocalStore` (SQLite, the embedded default) and
`backends.firestore_store.FirestoreStore`. Batch-level progress never reaches a Store. Methods
raise `BackendError` when the server cannot be reached.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from dltrack.wire.records import EpochRecord, ModelRecord, TrainingRecord


class Store(ABC):
    @abstractmethod
    def create_model(self, name: str) -> ModelRecord: ...

    @abstractmethod
    def get_model(self, model_key: str) -> ModelRecord | None: ...

    @abstractmethod
    def list_models(self) -> list[ModelRecord]: ...

    @abstractmethod
    def rename_model(self, model_key: str, name: str) -> bool: ...

    @abstractmethod
    def delete_model(self, model_key: str) -> bool:
        """Delete the model with all its trainings and epochs; False if there was none."""

    @abstractmethod
    def start_training(
        self, model_key: str, training_id: str, params: dict[str, Any], started_at: float
    ) -> int:
        """Record a running training and return its number (1, 2, 3… per model, atomic).

        Idempotent: starting the same training id again returns the number it already has.
        Raises `UnknownModelError` when the model does not exist.
        """

    @abstractmethod
    def update_training(self, model_key: str, training_id: str, **fields: Any) -> None:
        """Change some of `records.TRAINING_UPDATE_FIELDS` of a training."""

    @abstractmethod
    def get_training(self, model_key: str, training_id: str) -> TrainingRecord | None: ...

    @abstractmethod
    def list_trainings(self, model_key: str) -> list[TrainingRecord]:
        """Trainings of the model, by number ascending."""

    @abstractmethod
    def delete_training(self, model_key: str, training_id: str) -> bool: ...

    @abstractmethod
    def write_epoch(self, model_key: str, training_id: str, record: EpochRecord) -> None:
        """Write one epoch; writing the same epoch again replaces it (never duplicates)."""

    @abstractmethod
    def list_epochs(self, model_key: str, training_id: str) -> list[EpochRecord]: ...

    @abstractmethod
    def add_event(self, model_key: str, training_id: str, event: dict[str, Any]) -> None:
        """Record one event of a training (`protocol.event_ok` shape, with an `id`); writing
        the same id again replaces it. Deleting the training deletes its events."""

    @abstractmethod
    def list_events(self, model_key: str, training_id: str) -> list[dict[str, Any]]:
        """The training's events, oldest first."""

    @abstractmethod
    def close(self) -> None: ...
