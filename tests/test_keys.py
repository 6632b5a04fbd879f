"""Model keys and training ids: unguessable, and safe wherever they travel."""

from __future__ import annotations

import math
import re

import pytest

from dltrack.wire import keys
from dltrack.wire.errors import ConfigError


def test_model_keys_are_long_random_and_safe() -> None:
    made = {keys.new_model_key() for _ in range(2000)}
    assert len(made) == 2000
    for key in made:
        assert keys.is_model_key(key)
        # ≥ 120 bits: 22 characters of a 64-symbol alphabet carry 132
        assert len(key) * math.log2(64) >= 120
        # routing keys split on '.', match '*' and '#'; Firestore paths split on '/'
        assert not set(key) & set("./*#%?&=+ ")
        # command lines would take a leading '-' for an option
        assert not key.startswith("-")


def test_training_ids() -> None:
    made = {keys.new_training_id() for _ in range(2000)}
    assert len(made) == 2000
    assert all(re.fullmatch(r"[0-9a-f]{16}", t) for t in made)
    assert all(keys.is_training_id(t) for t in made)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "short",
        "a" * 21,
        "a" * 65,
        "contains.a.dot.0123456789",
        "contains/a/slash/0123456789",
        "contains#a#hash#0123456789",
        "contains*a*star*0123456789",
        "contains a space 0123456789",
        "ünïcödé_ünïcödé_ünïcödé_",
        "trailing-newline-0123456789\n",
        12345678901234567890123,
        b"bytes-key-0123456789abcdef",
    ],
)
def test_malformed_model_keys_are_refused(value: object) -> None:
    assert not keys.is_model_key(value)
    with pytest.raises(ConfigError) as error:
        keys.check_model_key(value)
    message = str(error.value)
    assert "dltrack models create" in message
    assert "\n" not in message  # one line


def test_check_model_key_shortens_what_it_shows() -> None:
    with pytest.raises(ConfigError) as error:
        keys.check_model_key("x" * 5000)
    assert len(str(error.value)) < 300


@pytest.mark.parametrize("value", ["a" * 22, "A-_" * 10, "z" * 64, keys.new_model_key()])
def test_wellformed_model_keys_pass(value: str) -> None:
    assert keys.check_model_key(value) == value


@pytest.mark.parametrize("value", [None, "", "0123", "0123456789ABCDEF", "g" * 16, "0" * 17])
def test_malformed_training_ids_are_refused(value: object) -> None:
    assert not keys.is_training_id(value)
    with pytest.raises(ConfigError, match="dltrack trainings"):
        keys.check_training_id(value)
