"""Model ids, viewing tokens and command MACs (wire.keys, wire.auth): each check on its own."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dltrack.wire import auth
from dltrack.wire import protocol as p
from dltrack.wire.errors import ConfigError
from dltrack.wire.keys import (
    check_model_ref,
    is_model_id,
    is_model_key,
    model_id,
    model_id_of,
    new_model_key,
    new_training_id,
    share_string,
    viewing_token,
)

KEY = new_model_key()
TID = new_training_id()


def test_a_model_id_is_public_stable_and_never_a_key() -> None:
    mid = model_id(KEY)
    assert mid == model_id(KEY) and mid != model_id(new_model_key())
    assert is_model_id(mid) and not is_model_key(mid)
    assert is_model_key(KEY) and not is_model_id(KEY)
    assert KEY not in mid
    assert len(mid) == 3 + 32  # "id_" and 128 bits of hex
    # Safe in AMQP routing keys and Firestore document ids.
    assert not set(mid) & set(".*#/")


def test_refs_name_the_same_model() -> None:
    share = share_string(KEY)
    assert model_id_of(KEY) == model_id_of(model_id(KEY)) == model_id_of(share) == model_id(KEY)
    assert KEY not in share and viewing_token(KEY) in share
    assert [check_model_ref(r) for r in (KEY, model_id(KEY), share)] == [
        KEY,
        model_id(KEY),
        share,
    ]
    for bad in ("nope", f"{model_id(KEY)}.short", f"{KEY}.{viewing_token(KEY)}", 5):
        with pytest.raises(ConfigError, match="not a model key"):
            check_model_ref(bad)


def test_the_viewing_token_cannot_sign_control() -> None:
    token = viewing_token(KEY)
    assert token != KEY and token != viewing_token(new_model_key())
    forged = p.Command.new(p.STOP, token, TID, "viewer").to_message()  # signed with the token
    forged["model_id"] = model_id(KEY)
    command = p.parse_command(json.dumps(forged))
    assert command is not None and command.refusal(KEY, command.ts) == auth.BAD_MAC


def test_a_signed_command_verifies() -> None:
    command = p.Command.new(p.STOP, KEY, TID, "ana", args={"lr": 0.001, "why": "é"})
    parsed = p.parse_command(p.encode(command.to_message()))
    assert parsed == command and parsed.mac is not None
    assert parsed.refusal(KEY, parsed.ts) is None
    assert KEY not in json.dumps(command.to_message())


@pytest.mark.parametrize(
    "field, value",
    [
        ("id", new_training_id()),
        ("kind", p.STOP_AFTER_EPOCH),
        ("target", p.ALL_TRAININGS),
        ("sender", "mallory"),
        ("ts", 1.5),
        ("args", {"lr": 10.0}),
        ("v", 2),  # unchanged value, re-encoded: still good (the control case)
    ],
)
def test_changing_any_field_breaks_the_mac(field: str, value: Any) -> None:
    message = p.Command.new(p.STOP, KEY, TID, "ana", args={"lr": 0.001}).to_message()
    message[field] = value
    command = p.parse_command(json.dumps(message))
    assert command is not None
    reason = command.refusal(KEY, command.ts)
    assert reason == (None if field == "v" else auth.BAD_MAC)


def test_unsigned_foreign_and_stale_commands_are_refused() -> None:
    good = p.Command.new(p.STOP, KEY, TID, "ana")
    unsigned = {k: v for k, v in good.to_message().items() if k != "mac"}
    parsed = p.parse_command(json.dumps(unsigned))
    assert parsed is not None and parsed.refusal(KEY, good.ts) == auth.UNSIGNED
    foreign = p.Command.new(p.STOP, new_model_key(), TID, "ana")
    assert foreign.refusal(KEY, foreign.ts) == auth.BAD_MAC
    assert good.refusal(KEY, good.ts + auth.MAX_AGE_S + 1) == auth.TOO_OLD.format(auth.MAX_AGE_S)
    assert good.refusal(KEY, good.ts - auth.MAX_AHEAD_S - 1) == auth.TOO_NEW.format(
        auth.MAX_AHEAD_S
    )
    assert good.refusal(KEY, good.ts + auth.MAX_AGE_S - 1) is None


def test_viewer_kinds_are_signed_with_the_viewing_token() -> None:
    fields = {"v": 2, "kind": "hello", "id": TID, "ts": 1.0}
    by_viewer = auth.mac(fields, viewing_token(KEY).encode())
    assert auth.refusal({**fields, "mac": by_viewer}, KEY, 1.0) is None
    by_key = auth.mac(fields, KEY.encode())
    assert auth.refusal({**fields, "mac": by_key}, KEY, 1.0) == auth.BAD_MAC


def test_the_replay_memory_is_bounded_and_forgets_only_what_age_refuses() -> None:
    guard = auth.ReplayGuard(limit=3)
    now = 1000.0
    assert guard.first_time("a", now, now) and not guard.first_time("a", now, now)
    for name in "bcd":
        assert guard.first_time(name, now, now)
    assert len(guard._seen) == 3  # bounded: "a" went first
    later = now + auth.MAX_AGE_S + 1
    assert guard.first_time("e", later, later)
    assert list(guard._seen) == ["e"]  # the rest are older than any accepted command


def test_a_training_token_round_trips_and_a_bad_one_is_never_echoed() -> None:
    from dltrack.wire.training_token import FirebaseGrant, TrainingToken

    token = TrainingToken(KEY, "amqps://u:p@h/v", "firestore://p", FirebaseGrant("r", "k"))
    assert TrainingToken.decode(token.encode()) == token
    assert TrainingToken.decode(TrainingToken(KEY).encode()) == TrainingToken(KEY)
    for bad in ("", "dlt1.", "dlt1.!!!!", "dlt2." + token.encode()[5:], token.encode()[:-9]):
        with pytest.raises(ConfigError, match="dltrack grant") as error:
            TrainingToken.decode(bad)
        assert bad[5:] == "" or bad[5:] not in str(error.value)
