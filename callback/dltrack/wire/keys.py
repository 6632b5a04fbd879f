"""Model keys and training ids: generation and validation.

A model key is the only thing that grants access to a model's trainings (anyone holding it can
watch and stop them), so it is random and long: 128 bits from `secrets`, URL-safe base64. Both
kinds of identifier end up in AMQP routing keys and Firestore document ids, so their alphabet
excludes `.`, `*`, `#` and `/`.
"""

import re
import secrets

from dltrack.wire.errors import ConfigError

_MODEL_KEY = re.compile(r"[A-Za-z0-9_-]{22,64}")
_TRAINING_ID = re.compile(r"[0-9a-f]{16}")
MAX_NAME = 200


def new_model_key() -> str:
    """Return a fresh, unguessable model key (128 random bits)."""
    # Never a leading '-': command lines (argparse, the magic) would read it as an option.
    while (key := secrets.token_urlsafe(16)).startswith("-"):
        pass
    return key


def new_training_id() -> str:
    """Return a fresh training id (64 random bits, hex)."""
    return secrets.token_hex(8)


def is_model_key(value: object) -> bool:
    return isinstance(value, str) and _MODEL_KEY.fullmatch(value) is not None


def is_training_id(value: object) -> bool:
    return isinstance(value, str) and _TRAINING_ID.fullmatch(value) is not None


def check_model_key(value: object) -> str:
    """Return `value` if it is a well-formed model key, else raise `ConfigError`."""
    if not is_model_key(value):
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        raise ConfigError(
            f"{shown} is not a model key: expected 22-64 characters of A-Z a-z 0-9 _ -, "
            "as printed by `dltrack models create NAME`"
        )
    assert isinstance(value, str)
    return value


def check_training_id(value: object) -> str:
    """Return `value` if it is a well-formed training id, else raise `ConfigError`."""
    if not is_training_id(value):
        raise ConfigError(
            f"{value!r} is not a training id: expected 16 hex digits, "
            "as listed by `dltrack trainings list KEY`"
        )
    assert isinstance(value, str)
    return value


def check_name(name: str) -> str:
    """A model's display name, stripped; 1-200 characters."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise ConfigError(f"a model name must be 1-{MAX_NAME} characters")
    return name
