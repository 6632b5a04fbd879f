"""What the store holds, as plain dataclasses shared by every Store."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ModelRecord:
    key: str
    name: str
    created_at: float
    train_count: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainingRecord:
    model_key: str
    training_id: str
    number: int
    status: str
    params: dict[str, Any] = field(default_factory=dict)
    started_at: float = 0.0
    ended_at: float | None = None
    last_seen: float | None = None
    epochs_done: int = 0
    final_logs: dict[str, float] = field(default_factory=dict)
    # Who asked to stop, when, and where the training stopped: {sender, requested_at, kind,
    # command_id, epoch, step}. None unless a stop was requested.
    stop: dict[str, Any] | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EpochRecord:
    epoch: int
    logs: dict[str, float]
    steps: int | None = None
    started_at: float | None = None
    ended_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# The fields of a TrainingRecord that `Store.update_training` may change.
TRAINING_UPDATE_FIELDS = frozenset(
    {"status", "ended_at", "last_seen", "epochs_done", "final_logs", "stop", "reason", "params"}
)
