"""What the store holds, as plain dataclasses shared by every Store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypedDict, get_args

from dltrack.wire.keys import model_id

# Where a training stands in the store. `running` until it ends; `interrupted` when its
# process vanished without saying goodbye (a later training or viewer notices the silence).
Status = Literal["running", "completed", "stopped", "failed", "interrupted"]
# JSON has no NaN or infinity: a metric that became one is kept beside the finite logs as one
# of these markers (docs/protocol.md), so that it is shown, not silently dropped.
NON_FINITE_MARKERS: frozenset[str] = frozenset({"nan", "inf", "-inf"})
# How a training can end by itself, as train_end says.
FinalStatus = Literal["completed", "stopped", "failed"]
FINAL_STATUSES: frozenset[str] = frozenset(get_args(FinalStatus))
# What a viewer shows: the store's status, or `lost` while a running training is silent for a
# while (not yet long enough to call it interrupted).
ViewStatus = Literal[Status, "lost"]
LIVE_STATUSES: frozenset[str] = frozenset({"running", "lost"})


def as_status(value: object) -> Status:
    """A status read back from a store; anything unknown reads as `running`, which the
    silence rules then turn into `interrupted` (the safe reading of a half-written row)."""
    statuses: tuple[Status, ...] = get_args(Status)
    for status in statuses:
        if value == status:
            return status
    return "running"


@dataclass
class ModelRecord:
    # The secret key: known right after `create_model` and where the store is on the owner's
    # machine (the local store); "" where the store holds only the public id (Firestore).
    key: str
    name: str
    created_at: float
    train_count: int = 0
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id and self.key:
            self.id = model_id(self.key)

    def to_json(self) -> dict[str, Any]:
        """The public fields: never the key (this goes to viewers, JSON output, widget state)."""
        return {k: v for k, v in asdict(self).items() if k != "key"}


@dataclass
class TrainingRecord:
    model_id: str
    training_id: str
    number: int
    status: Status
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


class _EpochFields(TypedDict):
    epoch: int
    logs: dict[str, float]
    steps: int | None
    started_at: float | None
    ended_at: float | None


class EpochDict(_EpochFields, total=False):
    """An epoch record as it travels: in epoch_end messages, heartbeats, the spool, the state."""

    # Metrics that were NaN or ±inf, as markers; present only when there were any, so that
    # an epoch without them has the shape older peers know.
    non_finite: dict[str, str]


@dataclass
class EpochRecord:
    """One finished epoch. Its fields are declared here and in `EpochDict`, its JSON form;
    every other module builds epochs through `to_json` and `from_json`."""

    epoch: int  # 0-based, as Keras counts
    logs: dict[str, float]
    steps: int | None = None  # batches the epoch ran, when known
    started_at: float | None = None
    ended_at: float | None = None
    non_finite: dict[str, str] = field(default_factory=dict)  # metric -> "nan" | "inf" | "-inf"

    def to_json(self) -> EpochDict:
        record = EpochDict(
            epoch=self.epoch,
            logs=self.logs,
            steps=self.steps,
            started_at=self.started_at,
            ended_at=self.ended_at,
        )
        if self.non_finite:
            record["non_finite"] = self.non_finite
        return record

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EpochRecord:
        """From any mapping with the record's fields (a message, a document, a spool row);
        other fields are left out."""
        return cls(
            epoch=int(data["epoch"]),
            logs=dict(data.get("logs") or {}),
            steps=data.get("steps"),
            started_at=data.get("started_at"),
            ended_at=data.get("ended_at"),
            non_finite=non_finite_of(data.get("non_finite")),
        )


def non_finite_of(value: Any) -> dict[str, str]:
    """The valid markers of a record's `non_finite` (absent in records of older peers)."""
    if not isinstance(value, Mapping):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, str) and v in NON_FINITE_MARKERS}


# The fields of a TrainingRecord that `Store.update_training` may change.
TRAINING_UPDATE_FIELDS = frozenset(
    {"status", "ended_at", "last_seen", "epochs_done", "final_logs", "stop", "reason", "params"}
)
