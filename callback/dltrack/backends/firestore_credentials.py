"""Which Google credential a FirestoreStore uses, in this order:

0. `DLTRACK_TRAINING_TOKEN` with a Firebase grant and no `DLTRACK_FIRESTORE_CREDENTIALS`: the
   granted Firebase user (`granted_firebase`, `firebase_user`), held to firestore.rules.
1. `FIRESTORE_EMULATOR_HOST` set: an anonymous credential (the emulator checks nothing, and
   asking for real ones would fail on a machine that has none).
2. `DLTRACK_FIRESTORE_CREDENTIALS`: the service-account key itself as a JSON string (what Kaggle
   secrets and Colab's userdata hold) or the path of the key file.
3. Otherwise firebase-admin's application default: `GOOGLE_APPLICATION_CREDENTIALS`, gcloud's
   stored login, or the metadata server of a Google VM (Colab).

The key is a secret: no message here ever quotes the variable's content.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dltrack.wire import training_token
from dltrack.wire.errors import ConfigError
from dltrack.wire.training_token import FirebaseGrant

CREDENTIALS_ENV = "DLTRACK_FIRESTORE_CREDENTIALS"
EMULATOR_ENV = "FIRESTORE_EMULATOR_HOST"
# The private key itself is checked by firebase-admin when it builds the credential.
_KEY_FIELDS = ("type", "project_id", "client_email")
_HOW = (
    "paste the whole key file downloaded from the Firebase console "
    "(Project settings → Service accounts → Generate new private key)"
)


def _parse_key(text: str, where: str) -> dict[str, Any]:
    try:
        info = json.loads(text)
    except json.JSONDecodeError as exc:
        # Only the position: the text around it would be part of the private key.
        position = f" (line {exc.lineno}, column {exc.colno})"
        raise ConfigError(f"{where} holds malformed JSON{position}: {_HOW}") from None
    if not isinstance(info, dict):
        raise ConfigError(f"{where} is JSON but not a service-account key object: {_HOW}")
    missing = [name for name in _KEY_FIELDS if not info.get(name)]
    if missing or info.get("type") != "service_account":
        detail = f"missing {', '.join(missing)}" if missing else "its type is not service_account"
        raise ConfigError(f"{where} is not a service-account key ({detail}): {_HOW}")
    return info


def service_account_info() -> dict[str, Any] | None:
    """The key named by `DLTRACK_FIRESTORE_CREDENTIALS`, or None when it is unset."""
    value = os.environ.get(CREDENTIALS_ENV, "").strip()
    if not value:
        return None
    if value.startswith("{"):
        return _parse_key(value, CREDENTIALS_ENV)
    # Looks at most like a path: a short, single line. Anything else is treated as a mangled
    # key, never echoed.
    if len(value) > 4096 or "\n" in value or not Path(value).expanduser().is_file():
        raise ConfigError(
            f"{CREDENTIALS_ENV} is neither service-account JSON nor the path of a readable "
            f"file: {_HOW}, or give the file's path"
        )
    path = Path(value).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise ConfigError(f"cannot read the service-account key file {path}") from None
    return _parse_key(text, f"the key file {path} ({CREDENTIALS_ENV})")


def granted_firebase() -> FirebaseGrant | None:
    """The training token's Firebase user, unless a service account is configured too."""
    if os.environ.get(CREDENTIALS_ENV, "").strip():
        return None
    token = training_token.from_env()
    return token.firebase if token is not None else None


def firebase_credential() -> Any:
    """A credential for `firebase_admin.initialize_app`; raises `ConfigError` on a bad key."""
    from firebase_admin import credentials

    if os.environ.get(EMULATOR_ENV):
        from google.auth.credentials import AnonymousCredentials

        # firebase-admin (≥ 6.5) wraps plain google-auth credentials itself.
        return AnonymousCredentials()  # type: ignore[no-untyped-call]  # google-auth: untyped
    info = service_account_info()
    if info is None:
        # Lazy: google.auth.default() runs on first use, where FirestoreStore reports failure.
        return credentials.ApplicationDefault()
    try:
        return credentials.Certificate(info)
    except ValueError:
        # The library's message may quote parts of the key: say only what to do.
        raise ConfigError(
            f"{CREDENTIALS_ENV}: this service-account key is unusable: {_HOW}"
        ) from None
