"""The wire protocol: updates (training → viewers) and commands (viewers → training).

Every message is a small JSON object. Parsing is defensive: anything that is not a well-formed
message of a known version comes back as `None`, never as an exception, because both channels
may carry garbage (a buggy peer, an old version, a hostile sender who knows the model key).
docs/protocol.md describes the format; bump `VERSION` on any incompatible change.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal, cast, get_args

from dltrack.wire import auth
from dltrack.wire.keys import (
    SHARE_SEPARATOR,
    is_model_id,
    is_model_key,
    is_training_id,
    model_id,
    model_id_of,
    new_training_id,
    viewing_token,
)
from dltrack.wire.records import FINAL_STATUSES

# 2: messages name the model by its public id (never the key); commands carry a MAC.
VERSION = 2
MAX_MESSAGE_BYTES = 256 * 1024
MAX_LOG_ENTRIES = 64
# Integers past JavaScript's exact range are refused: every viewer can hold what it accepts.
MAX_INT = 2**53 - 1
# Times are Unix seconds; bounded (to the year 5138) so that a viewer subtracting two of them
# never gets an infinity.
MAX_TIME = 1e11

UpdateType = Literal[
    "train_begin", "epoch_begin", "progress", "epoch_end", "train_end", "heartbeat", "ack", "event"
]
TRAIN_BEGIN: Final = "train_begin"
EPOCH_BEGIN: Final = "epoch_begin"
PROGRESS: Final = "progress"
EPOCH_END: Final = "epoch_end"
TRAIN_END: Final = "train_end"
HEARTBEAT: Final = "heartbeat"
ACK: Final = "ack"
# Something that happened to the training: a command carried out, a rule fired, why it ended.
EVENT: Final = "event"
UPDATE_TYPES: frozenset[str] = frozenset(get_args(UpdateType))

CommandKind = Literal[
    "stop",
    "stop_after_epoch",
    "save_and_stop",
    "set_lr",
    "pause",
    "resume",
    "checkpoint",
    "add_rule",
    "remove_rule",
    "hello",
]
STOP: Final = "stop"
STOP_AFTER_EPOCH: Final = "stop_after_epoch"
# A kind of its own rather than `stop` with an argument: a training that predates it would
# take a `stop` and silently skip the save, whereas an unknown kind is ignored (no ack), which
# the sender reports as "no answer".
SAVE_AND_STOP: Final = "save_and_stop"
SET_LR: Final = "set_lr"
PAUSE: Final = "pause"
RESUME: Final = "resume"
CHECKPOINT: Final = "checkpoint"
ADD_RULE: Final = "add_rule"
REMOVE_RULE: Final = "remove_rule"
# A viewer saying it watches: its one effect is the training's publishing rate (full live rate
# while someone watches, only what must persist otherwise). Never acknowledged.
HELLO: Final = "hello"
STOP_KINDS: frozenset[str] = frozenset({STOP, STOP_AFTER_EPOCH, SAVE_AND_STOP})
COMMAND_KINDS: frozenset[str] = frozenset(get_args(CommandKind))
# JSON has no NaN or infinity: a metric that became one travels as one of these markers.
NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
MAX_EVENTS = 50
ALL_TRAININGS: Final = "all"

Message = dict[str, Any]


def make_update(
    message_type: UpdateType, model_id: str, training_id: str, seq: int, **body: Any
) -> Message:
    """Build an update message; `body` holds the type-specific fields."""
    return {
        "v": VERSION,
        "type": message_type,
        "model_id": model_id,
        "training_id": training_id,
        "seq": seq,
        "ts": time.time(),
        **body,
    }


def encode(message: Message) -> bytes:
    return json.dumps(message, separators=(",", ":"), allow_nan=False).encode()


def non_finite_marker(number: float) -> str:
    """The wire form of NaN or ±infinity (`NON_FINITE`)."""
    return "nan" if math.isnan(number) else ("inf" if number > 0 else "-inf")


def _numbers(logs: Any) -> list[tuple[str, float]]:
    # Values that do not convert (strings, arrays) are skipped rather than failing the update.
    out: list[tuple[str, float]] = []
    if not isinstance(logs, dict):
        return out
    for name, value in list(logs.items())[:MAX_LOG_ENTRIES]:
        try:
            out.append((str(name)[:100], float(value)))
        except (TypeError, ValueError):
            continue
    return out


def clean_logs(logs: Any) -> dict[str, float]:
    """Keras logs as plain finite floats (what every viewer charts); see `non_finite_logs`."""
    return {name: number for name, number in _numbers(logs) if math.isfinite(number)}


def non_finite_logs(logs: Any) -> dict[str, str]:
    """The metrics of `logs` that are NaN or infinite, as markers: said, not dropped silently."""
    return {
        name: non_finite_marker(number)
        for name, number in _numbers(logs)
        if not math.isfinite(number)
    }


def _markers_ok(value: Any) -> bool:
    return value is None or (
        isinstance(value, dict)
        and all(isinstance(k, str) and _one_of(v, frozenset(NON_FINITE)) for k, v in value.items())
    )


def _decode(raw: bytes | str) -> Any:
    if len(raw) > MAX_MESSAGE_BYTES:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _is_int(value: Any, minimum: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= MAX_INT


def _is_number(value: Any) -> bool:
    # A JSON integer may have hundreds of digits: bounded before any float conversion, which
    # would raise OverflowError instead of refusing the message.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return abs(value) <= MAX_INT if isinstance(value, int) else math.isfinite(value)


def _is_time(value: Any) -> bool:
    return _is_number(value) and 0 <= value <= MAX_TIME


def _logs_ok(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and _is_number(v) for k, v in value.items()
    )


def _one_of(value: Any, choices: frozenset[str]) -> bool:
    # A hostile peer may send a list or an object where a name belongs: unhashable, so a
    # plain `in` on a set would raise instead of refusing the message.
    return isinstance(value, str) and value in choices


def _is_version(value: Any) -> bool:
    # `True == 1` and `1.0 == 1` in Python: insist on the integer itself.
    return type(value) is int and value == VERSION


def _optional_int(value: Any) -> bool:
    return value is None or _is_int(value)


def _optional_time(value: Any) -> bool:
    return value is None or _is_time(value)


def _optional_str(value: Any) -> bool:
    return value is None or isinstance(value, str)


# Viewers compute with and print every field they read (an ETA from `steps`, a duration from
# `started_at`), so optional fields are type-checked too: one wrong type must drop the
# message, not crash a viewer.


def _params_ok(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and _optional_int(value.get("epochs"))
        and _optional_int(value.get("steps"))
    )


def _epoch_record_ok(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and _is_int(value.get("epoch"))
        and _logs_ok(value.get("logs"))
        and _optional_int(value.get("steps"))
        and _optional_time(value.get("started_at"))
        and _optional_time(value.get("ended_at"))
        and _markers_ok(value.get("non_finite"))
    )


def _stop_ok(value: Any) -> bool:
    return value is None or (
        isinstance(value, dict)
        and _optional_str(value.get("sender"))
        and _optional_str(value.get("kind"))
        and _optional_str(value.get("command_id"))
        and _optional_time(value.get("requested_at"))
        and _optional_int(value.get("epoch"))
        and _optional_int(value.get("step"))
    )


def _snapshot_ok(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    epochs = value.get("epochs")
    params = value.get("params")
    logs = value.get("logs")
    events = value.get("events")
    return (
        _optional_str(value.get("status"))
        and _optional_int(value.get("number"))
        and (params is None or _params_ok(params))
        and _optional_time(value.get("started_at"))
        and _optional_int(value.get("epoch"))
        and _optional_time(value.get("epoch_started_at"))
        and _optional_int(value.get("step"))
        and _optional_int(value.get("steps"))
        and (logs is None or _logs_ok(logs))
        and _optional_int(value.get("epochs_done"))
        and (epochs is None or (isinstance(epochs, list) and all(map(_epoch_record_ok, epochs))))
        and _stop_ok(value.get("stop"))
        and _optional_time(value.get("paused_since"))
        and (value.get("lr") is None or _is_number(value.get("lr")))
        and (events is None or (isinstance(events, list) and all(map(event_ok, events))))
    )


def _body_ok(msg: Message) -> bool:
    kind = msg["type"]
    if kind == TRAIN_BEGIN:
        return _params_ok(msg.get("params"))
    if kind == EPOCH_BEGIN:
        return _is_int(msg.get("epoch"))
    if kind == PROGRESS:
        return (
            _is_int(msg.get("epoch"))
            and _is_int(msg.get("step"))
            and _optional_int(msg.get("steps"))
            and _logs_ok(msg.get("logs"))
        )
    if kind == EPOCH_END:
        return _epoch_record_ok(msg)
    if kind == TRAIN_END:
        final_logs = msg.get("final_logs")
        return (
            _one_of(msg.get("status"), FINAL_STATUSES)
            and _optional_str(msg.get("reason"))
            and _optional_time(msg.get("ended_at"))
            and _optional_int(msg.get("epochs_done"))
            and (final_logs is None or _logs_ok(final_logs))
            and _stop_ok(msg.get("stop"))
        )
    if kind == HEARTBEAT:
        return _snapshot_ok(msg.get("snapshot"))
    if kind == ACK:
        return (
            isinstance(msg.get("command_id"), str)
            and isinstance(msg.get("accepted"), bool)
            and _optional_str(msg.get("reason"))
            and _optional_str(msg.get("command_kind"))
            and _optional_str(msg.get("sender"))
        )
    if kind == EVENT:
        return event_ok(msg.get("event"))
    return False


def event_ok(value: Any) -> bool:
    """An event record: `{id, kind, at, ok, detail, sender, command_id, epoch, step, values}`."""
    return (
        isinstance(value, dict)
        and is_training_id(value.get("id"))
        and isinstance(value.get("kind"), str)
        and len(value["kind"]) <= 40
        and _is_time(value.get("at"))
        and isinstance(value.get("ok", True), bool)
        and _optional_str(value.get("detail"))
        and _optional_str(value.get("sender"))
        and _optional_str(value.get("command_id"))
        and _optional_int(value.get("epoch"))
        and _optional_int(value.get("step"))
        and _args_ok(value.get("values", {}))
    )


def parse_update(raw: bytes | str) -> Message | None:
    """The update in `raw`, or None if it is not a valid message of this protocol version."""
    msg = _decode(raw)
    if not isinstance(msg, dict):
        return None
    if not _is_version(msg.get("v")) or not _one_of(msg.get("type"), UPDATE_TYPES):
        return None
    if not (is_model_id(msg.get("model_id")) and is_training_id(msg.get("training_id"))):
        return None
    if not (_is_int(msg.get("seq")) and _is_time(msg.get("ts"))):
        return None
    return msg if _body_ok(msg) else None


@dataclass(frozen=True)
class Command:
    """A request from a viewer to a training. `target` is a training id or `ALL_TRAININGS`.

    `mac` signs every other field (wire.auth); `Command.new` signs with the model key, and a
    training acts only on a command whose `refusal` is None.
    """

    id: str
    kind: CommandKind
    model_id: str
    target: str
    sender: str
    ts: float
    # The kind's own arguments (a learning rate, a rule…): JSON scalars by name, checked by
    # `_args_ok`, so one shape carries every command kind.
    args: dict[str, Any] = field(default_factory=dict)
    mac: str | None = None

    @classmethod
    def new(
        cls,
        kind: CommandKind,
        model_key: str,
        target: str | None,
        sender: str,
        args: dict[str, Any] | None = None,
    ) -> Command:
        unsigned = cls(
            id=new_training_id(),
            kind=kind,
            model_id=model_id(model_key),
            target=target or ALL_TRAININGS,
            sender=sender[:80],
            ts=time.time(),
            args=dict(args or {}),
        )
        fields = unsigned.to_message()
        return replace(unsigned, mac=auth.mac(fields, auth.signing_secret(kind, model_key)))

    @classmethod
    def hello(cls, model_ref: str, target: str | None, sender: str) -> Command:
        """A presence signal, signed with the viewing token, which a read-only share holds
        (`model_ref`: a model key or a share)."""
        if is_model_key(model_ref):
            token = viewing_token(model_ref)
        else:
            token = model_ref.partition(SHARE_SEPARATOR)[2]
        unsigned = cls(
            id=new_training_id(),
            kind="hello",
            model_id=model_id_of(model_ref),
            target=target or ALL_TRAININGS,
            sender=sender[:80],
            ts=time.time(),
        )
        return replace(unsigned, mac=auth.mac(unsigned.to_message(), token.encode()))

    def to_message(self) -> Message:
        message: Message = {
            "v": VERSION,
            "type": "command",
            "id": self.id,
            "kind": self.kind,
            "model_id": self.model_id,
            "target": self.target,
            "sender": self.sender,
            "ts": self.ts,
        }
        if self.args:
            message["args"] = dict(self.args)
        if self.mac is not None:
            message["mac"] = self.mac
        return message

    def addressed_to(self, model_id: str, training_id: str) -> bool:
        return self.model_id == model_id and self.target in (training_id, ALL_TRAININGS)

    def refusal(self, model_key: str, now: float) -> str | None:
        """Why this command must be refused (unsigned, forged, stale), or None if authentic."""
        return auth.refusal(self.to_message(), model_key, now)


MAX_COMMAND_ARGS = 16


def _args_ok(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and len(value) <= MAX_COMMAND_ARGS
        and all(
            isinstance(k, str)
            and len(k) <= 64
            and (value_ is None or isinstance(value_, bool | str) or _is_number(value_))
            and (not isinstance(value_, str) or len(value_) <= 200)
            for k, value_ in value.items()
        )
    )


def _optional_mac(value: Any) -> bool:
    # An absent MAC parses (the training answers "unsigned"); a present one is 64 hex digits.
    return value is None or (isinstance(value, str) and len(value) == 64)


def parse_command(raw: bytes | str) -> Command | None:
    """The command in `raw`, or None if it is malformed or of another protocol version."""
    msg = _decode(raw)
    if not isinstance(msg, dict) or not _is_version(msg.get("v")) or msg.get("type") != "command":
        return None
    target = msg.get("target")
    if not (target == ALL_TRAININGS or is_training_id(target)):
        return None
    if not (
        is_training_id(msg.get("id"))
        and _one_of(msg.get("kind"), COMMAND_KINDS)
        and is_model_id(msg.get("model_id"))
        and isinstance(msg.get("sender"), str)
        and _is_time(msg.get("ts"))
        and _args_ok(msg.get("args", {}))
        and _optional_mac(msg.get("mac"))
    ):
        return None
    return Command(
        id=msg["id"],
        kind=cast(CommandKind, msg["kind"]),
        model_id=msg["model_id"],
        target=str(target),
        sender=msg["sender"][:80],
        ts=float(msg["ts"]),
        args=dict(msg.get("args", {})),
        mac=msg.get("mac"),
    )
