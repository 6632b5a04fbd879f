"""`DLTRACK_TRAINING_TOKEN`: the one secret a training box holds (made by `dltrack grant KEY`).

A compact, URL-safe base64 JSON object behind a `dlt1.` prefix:

- `key`: the model key (the training checks command signatures with it);
- `broker`: the broker URL, with a per-model user where the broker allowed one;
- `store`: the store URL (`firestore://PROJECT`);
- `firebase` (Firestore only): `refresh_token` of a Firebase user whose `mid` claim names the
  model id, and `api_key` (the project's public Web API key). The training turns it into ID
  tokens, which the shipped `firestore.rules` limit to this model's trainings and epochs.

It replaces the broker's full URL and the service-account JSON, which is admin over the whole
Firebase project. Never shown: its `repr` names only the model id; docs/security.md.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from typing import Any

from dltrack.wire.errors import ConfigError
from dltrack.wire.keys import is_model_key, model_id

ENV = "DLTRACK_TRAINING_TOKEN"
PREFIX = "dlt1."
BAD = (
    f"{ENV} is not a training token: paste the whole line that `dltrack grant KEY` printed "
    "(it starts with dlt1.)"
)


@dataclass(frozen=True)
class FirebaseGrant:
    refresh_token: str
    api_key: str

    def __repr__(self) -> str:
        return "FirebaseGrant(***)"


@dataclass(frozen=True)
class TrainingToken:
    model_key: str
    broker_url: str | None = None
    store_url: str | None = None
    firebase: FirebaseGrant | None = None

    def __repr__(self) -> str:
        return f"TrainingToken(model {model_id(self.model_key)}, ***)"

    def encode(self) -> str:
        body: dict[str, Any] = {"key": self.model_key}
        if self.broker_url:
            body["broker"] = self.broker_url
        if self.store_url:
            body["store"] = self.store_url
        if self.firebase:
            body["firebase"] = {
                "refresh_token": self.firebase.refresh_token,
                "api_key": self.firebase.api_key,
            }
        raw = json.dumps(body, separators=(",", ":")).encode()
        return PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> TrainingToken:
        """The token in `text`, or ConfigError (one line, never echoing the text)."""
        text = text.strip()
        if not text.startswith(PREFIX):
            raise ConfigError(BAD)
        payload = text[len(PREFIX) :]
        try:
            body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise ConfigError(BAD) from None
        if not isinstance(body, dict) or not is_model_key(body.get("key")):
            raise ConfigError(BAD)
        firebase = body.get("firebase")
        grant = None
        if firebase is not None:
            if not (
                isinstance(firebase, dict)
                and isinstance(firebase.get("refresh_token"), str)
                and isinstance(firebase.get("api_key"), str)
            ):
                raise ConfigError(BAD)
            grant = FirebaseGrant(firebase["refresh_token"], firebase["api_key"])
        broker, store = body.get("broker"), body.get("store")
        if not all(v is None or isinstance(v, str) for v in (broker, store)):
            raise ConfigError(BAD)
        return cls(body["key"], broker, store, grant)


def from_env() -> TrainingToken | None:
    """The token in `DLTRACK_TRAINING_TOKEN`, None when unset; ConfigError when malformed."""
    text = os.environ.get(ENV)
    return TrainingToken.decode(text) if text else None
