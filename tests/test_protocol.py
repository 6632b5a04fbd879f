"""The wire protocol: what parses, what is refused, and that parsing never raises."""

from __future__ import annotations

import json
import math
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dltrack.wire import protocol as p
from dltrack.wire.keys import model_id, new_model_key, new_training_id

KEY = new_model_key()
MID = model_id(KEY)
TID = new_training_id()

VALID_BODIES: dict[str, dict[str, Any]] = {
    p.TRAIN_BEGIN: {"params": {"epochs": 3, "steps": 10, "note": "x"}},
    p.EPOCH_BEGIN: {"epoch": 0},
    p.PROGRESS: {"epoch": 1, "step": 4, "steps": 10, "logs": {"loss": 0.5, "accuracy": 0.75}},
    p.EPOCH_END: {"epoch": 1, "logs": {"loss": 0.4, "val_loss": 0.45}, "steps": 10},
    p.TRAIN_END: {"status": "stopped", "reason": "stopped by me", "stop": None},
    p.HEARTBEAT: {"snapshot": {"status": "running", "epoch": 1, "step": 3}},
    p.ACK: {"command_id": new_training_id(), "accepted": True, "reason": None},
}


def update(kind: str, **overrides: Any) -> dict[str, Any]:
    message = p.make_update(cast(p.UpdateType, kind), MID, TID, 7, **VALID_BODIES[kind])
    message.update(overrides)
    return message


def raw(message: Any) -> bytes:
    return json.dumps(message).encode()


# -- updates ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(VALID_BODIES))
def test_every_update_type_round_trips(kind: str) -> None:
    message = update(kind)
    parsed = p.parse_update(p.encode(message))
    assert parsed == message
    # str input parses the same as bytes
    assert p.parse_update(p.encode(message).decode()) == message


def test_steps_may_be_unknown_in_progress() -> None:
    message = update(p.PROGRESS, steps=None)
    assert p.parse_update(raw(message)) == message


@pytest.mark.parametrize(
    "junk",
    [b"", b"not json", b"{", b"[]", b"null", b"42", b'"text"', b"\xff\xfe\x00", b"{" * 100_000],
)
def test_malformed_json_is_none(junk: bytes) -> None:
    assert p.parse_update(junk) is None
    assert p.parse_command(junk) is None


@pytest.mark.parametrize(
    "field, value",
    [
        ("v", 1),  # before model ids
        ("v", 3),
        ("v", 0),
        ("v", "2"),
        ("v", None),
        ("type", "command"),
        ("type", "explode"),
        ("type", None),
        ("model_id", "short"),
        ("model_id", "has.dots.and.is.long.enough.x"),
        ("model_id", "with/slash/aaaaaaaaaaaaaaaaaaaaa"),
        ("model_id", 12345678901234567890123),
        ("model_id", KEY),  # a key is not an id: an update never names a model by its key
        ("training_id", "ABCDEF0123456789"),  # upper case
        ("training_id", "0123"),
        ("training_id", None),
        ("seq", -1),
        ("seq", 1.5),
        ("seq", True),
        ("seq", "3"),
        ("ts", "now"),
        ("ts", None),
        ("ts", True),
    ],
)
def test_wrong_envelope_is_none(field: str, value: Any) -> None:
    assert p.parse_update(raw(update(p.PROGRESS, **{field: value}))) is None


@pytest.mark.parametrize("field", ["v", "type", "model_id", "training_id", "seq", "ts"])
def test_missing_envelope_field_is_none(field: str) -> None:
    message = update(p.EPOCH_BEGIN)
    del message[field]
    assert p.parse_update(raw(message)) is None


@pytest.mark.parametrize(
    "kind, field, value",
    [
        (p.TRAIN_BEGIN, "params", None),
        (p.TRAIN_BEGIN, "params", [1, 2]),
        (p.EPOCH_BEGIN, "epoch", -1),
        (p.EPOCH_BEGIN, "epoch", "0"),
        (p.EPOCH_BEGIN, "epoch", 1.0),
        (p.PROGRESS, "step", None),
        (p.PROGRESS, "steps", "10"),
        (p.PROGRESS, "steps", -3),
        (p.PROGRESS, "logs", None),
        (p.PROGRESS, "logs", {"loss": "low"}),
        (p.PROGRESS, "logs", {"loss": None}),
        (p.PROGRESS, "logs", {"loss": True}),
        (p.PROGRESS, "logs", [0.5]),
        (p.EPOCH_END, "epoch", None),
        (p.EPOCH_END, "logs", {"loss": {"nested": 1}}),
        (p.TRAIN_END, "status", "running"),
        (p.TRAIN_END, "status", "exploded"),
        (p.TRAIN_END, "status", None),
        (p.HEARTBEAT, "snapshot", None),
        (p.HEARTBEAT, "snapshot", "everything is fine"),
        (p.ACK, "command_id", 5),
        (p.ACK, "accepted", "yes"),
        (p.ACK, "accepted", None),
        # optional fields, when present, have their type too: viewers compute with them
        (p.TRAIN_BEGIN, "params", {"epochs": "ten"}),
        (p.TRAIN_BEGIN, "params", {"steps": 2.5}),
        (p.EPOCH_END, "steps", "10"),
        (p.EPOCH_END, "started_at", "noon"),
        (p.EPOCH_END, "ended_at", [1]),
        (p.TRAIN_END, "final_logs", True),
        (p.TRAIN_END, "final_logs", {"loss": "x"}),
        (p.TRAIN_END, "stop", True),
        (p.TRAIN_END, "stop", {"epoch": "2"}),
        (p.TRAIN_END, "stop", {"sender": ["me"]}),
        (p.TRAIN_END, "ended_at", "later"),
        (p.TRAIN_END, "reason", 42),
        (p.TRAIN_END, "epochs_done", -1),
        (p.HEARTBEAT, "snapshot", {"epochs": 5}),
        (p.HEARTBEAT, "snapshot", {"epochs": [{"epoch": "0", "logs": {}}]}),
        (p.HEARTBEAT, "snapshot", {"epochs": [{"epoch": 0, "logs": {"loss": "x"}}]}),
        (p.HEARTBEAT, "snapshot", {"step": "7"}),
        (p.HEARTBEAT, "snapshot", {"steps": 1.5}),
        (p.HEARTBEAT, "snapshot", {"number": "3"}),
        (p.HEARTBEAT, "snapshot", {"params": ["epochs"]}),
        (p.HEARTBEAT, "snapshot", {"started_at": "then"}),
        (p.HEARTBEAT, "snapshot", {"logs": {"loss": None}}),
        (p.HEARTBEAT, "snapshot", {"status": 1}),
        (p.HEARTBEAT, "snapshot", {"stop": "yes"}),
        (p.ACK, "reason", ["no"]),
    ],
)
def test_wrong_body_is_none(kind: str, field: str, value: Any) -> None:
    assert p.parse_update(raw(update(kind, **{field: value}))) is None


@pytest.mark.parametrize(
    "kind, field",
    [
        (p.TRAIN_BEGIN, "params"),
        (p.EPOCH_BEGIN, "epoch"),
        (p.PROGRESS, "epoch"),
        (p.PROGRESS, "step"),
        (p.PROGRESS, "logs"),
        (p.EPOCH_END, "logs"),
        (p.TRAIN_END, "status"),
        (p.HEARTBEAT, "snapshot"),
        (p.ACK, "command_id"),
        (p.ACK, "accepted"),
    ],
)
def test_missing_body_field_is_none(kind: str, field: str) -> None:
    message = update(kind)
    del message[field]
    assert p.parse_update(raw(message)) is None


def test_non_finite_numbers_are_refused() -> None:
    # Python's json accepts NaN/Infinity literals; the protocol does not.
    text = raw(update(p.PROGRESS)).decode().replace('"loss": 0.5', '"loss": NaN')
    assert "NaN" in text
    assert p.parse_update(text) is None
    text = raw(update(p.PROGRESS)).decode().replace('"ts": ', '"ts": Infinity, "x": ')
    assert p.parse_update(text) is None


def test_oversized_message_is_none_even_if_valid() -> None:
    padding = "x" * p.MAX_MESSAGE_BYTES
    big = update(p.TRAIN_BEGIN, params={"note": padding})
    assert len(raw(big)) > p.MAX_MESSAGE_BYTES
    assert p.parse_update(raw(big)) is None
    command = p.Command.new(p.STOP, KEY, None, "me").to_message()
    command["pad"] = padding
    assert p.parse_command(raw(command)) is None
    # ... while the same messages just under the limit parse.
    small = update(p.TRAIN_BEGIN, params={"note": "x" * 1000})
    assert p.parse_update(raw(small)) is not None


def test_encode_refuses_non_finite() -> None:
    with pytest.raises(ValueError):
        p.encode(update(p.PROGRESS, logs={"loss": math.nan}))


def test_clean_logs_keeps_finite_floats_only() -> None:
    import numpy as np

    logs = {
        "loss": np.float32(0.25),
        "acc": 1,
        "nan": math.nan,
        "inf": math.inf,
        "text": "high",
        "array": np.arange(3),
        "none": None,
    }
    assert p.clean_logs(logs) == {"loss": 0.25, "acc": 1.0}
    assert all(type(v) is float for v in p.clean_logs(logs).values())
    assert p.clean_logs(None) == {}
    assert p.clean_logs([("loss", 1.0)]) == {}
    many = {f"m{i}": float(i) for i in range(500)}
    assert len(p.clean_logs(many)) == p.MAX_LOG_ENTRIES
    assert p.clean_logs({"n" * 1000: 1.0}) == {"n" * 100: 1.0}


# -- commands ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [p.STOP, p.STOP_AFTER_EPOCH])
@pytest.mark.parametrize("target", [None, TID])
def test_command_round_trips(kind: p.CommandKind, target: str | None) -> None:
    command = p.Command.new(kind, KEY, target, "ana@laptop (test)")
    parsed = p.parse_command(p.encode(command.to_message()))
    assert parsed == command
    assert parsed.target == (target or p.ALL_TRAININGS)


def test_command_addressing() -> None:
    other = new_training_id()
    to_all = p.Command.new(p.STOP, KEY, None, "me")
    to_one = p.Command.new(p.STOP, KEY, TID, "me")
    assert to_all.addressed_to(MID, TID) and to_all.addressed_to(MID, other)
    assert to_one.addressed_to(MID, TID) and not to_one.addressed_to(MID, other)
    assert not to_all.addressed_to(model_id(new_model_key()), TID)


def test_command_sender_is_capped() -> None:
    command = p.Command.new(p.STOP, KEY, None, "s" * 500)
    assert len(command.sender) == 80
    message = command.to_message()
    message["sender"] = "s" * 500
    parsed = p.parse_command(raw(message))
    assert parsed is not None and len(parsed.sender) == 80


@pytest.mark.parametrize(
    "field, value",
    [
        ("v", 1),
        ("type", "progress"),
        ("id", "nothex"),
        ("id", None),
        ("kind", "explode"),
        ("kind", None),
        ("model_id", "bad key"),
        ("model_id", KEY),
        ("mac", "short"),
        ("mac", 5),
        ("target", "everyone"),
        ("target", None),
        ("target", "ALL"),
        ("sender", None),
        ("sender", 5),
        ("ts", "yesterday"),
        ("ts", None),
    ],
)
def test_malformed_command_is_none(field: str, value: Any) -> None:
    message = p.Command.new(p.STOP, KEY, TID, "me").to_message()
    message[field] = value
    assert p.parse_command(raw(message)) is None


@pytest.mark.parametrize("field", ["v", "type", "id", "kind", "model_id", "target", "sender", "ts"])
def test_command_missing_field_is_none(field: str) -> None:
    message = p.Command.new(p.STOP, KEY, TID, "me").to_message()
    del message[field]
    assert p.parse_command(raw(message)) is None


def test_an_update_is_not_a_command_and_back() -> None:
    assert p.parse_command(raw(update(p.PROGRESS))) is None
    assert p.parse_update(raw(p.Command.new(p.STOP, KEY, TID, "me").to_message())) is None


# -- fuzz: hostile input never raises ---------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=25,
)

FIELDS = [
    "v",
    "type",
    "model_id",
    "mac",
    "training_id",
    "seq",
    "ts",
    "epoch",
    "step",
    "steps",
    "logs",
    "params",
    "status",
    "snapshot",
    "command_id",
    "accepted",
    "id",
    "kind",
    "target",
    "sender",
]


@st.composite
def near_messages(draw: st.DrawFn) -> dict[str, Any]:
    """Messages that are mostly right, with some fields replaced by arbitrary JSON."""
    base = draw(
        st.sampled_from(
            [update(kind) for kind in VALID_BODIES]
            + [p.Command.new(p.STOP, KEY, TID, "me").to_message()]
        )
    )
    changed = draw(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=4))
    return {**base, **changed}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_bytes_never_raise(data: bytes) -> None:
    assert p.parse_update(data) is None or isinstance(p.parse_update(data), dict)
    p.parse_command(data)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_fuzz_json_never_raises(value: Any) -> None:
    text = json.dumps(value)
    p.parse_update(text)
    p.parse_command(text)


@settings(max_examples=300, deadline=None)
@given(near_messages())
def test_fuzz_near_messages_never_raise(message: dict[str, Any]) -> None:
    text = json.dumps(message)
    parsed = p.parse_update(text)
    if parsed is not None:
        # Whatever passes is safe for the reducer: the envelope is well-typed.
        assert parsed["type"] in p.UPDATE_TYPES
        assert isinstance(parsed["seq"], int) and parsed["seq"] >= 0
    command = p.parse_command(text)
    if command is not None:
        assert command.kind in p.COMMAND_KINDS


@pytest.mark.parametrize("version", [2.0, "2", 1])
def test_a_version_that_only_equals_the_version_loosely_is_refused(version: object) -> None:
    update = p.make_update("epoch_begin", MID, new_training_id(), 1, epoch=0)
    command = p.Command.new("stop", new_model_key(), None, "me").to_message()
    assert p.parse_update(json.dumps(update)) is not None
    assert p.parse_command(json.dumps(command)) is not None
    assert p.parse_update(json.dumps({**update, "v": version})) is None
    assert p.parse_command(json.dumps({**command, "v": version})) is None
