"""Model keys, model ids, viewing tokens and training ids: generation and validation.

A model key is the secret that grants control of a model's trainings (it signs commands), so it
is random and long: 128 bits from `secrets`, URL-safe base64. It never leaves the machines that
hold it: routing keys, store document ids and messages name a model by its public *model id*,
a hash of the key that reveals nothing about it. A *viewing token* (an HMAC of the key) lets a
read-only viewer prove it was invited without being able to sign commands; docs/security.md.
Identifiers end up in AMQP routing keys and Firestore document ids, so their alphabet excludes
`.`, `*`, `#` and `/`.
"""

import base64
import hashlib
import hmac
import re
import secrets

from dltrack.wire.errors import ConfigError

_MODEL_KEY = re.compile(r"[A-Za-z0-9_-]{22,64}")
_TRAINING_ID = re.compile(r"[0-9a-f]{16}")
# "id_" and lowercase hex: a model id can never be mistaken for a key `new_model_key` made
# (22 characters), and `is_model_key` refuses this exact form outright.
MODEL_ID_PREFIX = "id_"
_MODEL_ID = re.compile(r"id_[0-9a-f]{32}")
_VIEWING_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
# A read-only share: `<model id>.<viewing token>`; `.` is in neither alphabet.
SHARE_SEPARATOR = "."
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
    return (
        isinstance(value, str)
        and _MODEL_KEY.fullmatch(value) is not None
        and _MODEL_ID.fullmatch(value) is None
    )


def is_model_id(value: object) -> bool:
    return isinstance(value, str) and _MODEL_ID.fullmatch(value) is not None


def model_id(model_key: str) -> str:
    """The public id of `model_key`: 128 bits of a domain-separated SHA-256, hex."""
    digest = hashlib.sha256(b"dltrack model id\0" + model_key.encode()).hexdigest()
    return MODEL_ID_PREFIX + digest[:32]


def viewing_token(model_key: str) -> str:
    """What a read-only viewer holds: an HMAC of the key, so it cannot sign commands."""
    mac = hmac.new(model_key.encode(), b"dltrack viewing token", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def is_viewing_token(value: object) -> bool:
    return isinstance(value, str) and _VIEWING_TOKEN.fullmatch(value) is not None


def share_string(model_key: str) -> str:
    """What `dltrack share --read-only` prints: the model id and the viewing token."""
    return f"{model_id(model_key)}{SHARE_SEPARATOR}{viewing_token(model_key)}"


def model_id_of(ref: str) -> str:
    """The model id that a key, a model id or a read-only share names (unchecked input)."""
    ref = ref.split(SHARE_SEPARATOR, 1)[0]
    return ref if is_model_id(ref) else model_id(ref)


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


def check_model_ref(value: object) -> str:
    """`value` if it names a model (a key, a model id or a read-only share), else ConfigError."""
    if isinstance(value, str):
        head, _, token = value.partition(SHARE_SEPARATOR)
        if is_model_key(value) or is_model_id(value):
            return value
        if is_model_id(head) and is_viewing_token(token):
            return value
    check_model_key(value)  # raises the error that says what a key looks like
    return str(value)


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
