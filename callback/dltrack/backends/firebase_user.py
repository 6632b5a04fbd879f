"""A training box's Firestore identity: a Firebase user that `dltrack grant` signed in.

`dltrack grant` makes a custom token naming the model id (claim `mid`) and exchanges it at once
(`sign_in`, Identity Toolkit `accounts:signInWithCustomToken`): a custom token is valid for an
hour only, while the refresh token it yields lasts until revoked (`dltrack grant --revoke`). The
training token carries that refresh token; the training box turns it into ID tokens (Secure
Token `token`) and keeps them fresh. Both are REST calls keyed by the project's public Web API
key. Firestore evaluates the shipped `firestore.rules` against the ID token, so this identity can
write one model's trainings and epochs and nothing else. With `FIREBASE_AUTH_EMULATOR_HOST`
set, both calls go to the Firebase Auth emulator.

Tokens live in memory only; a failure names the endpoint and the status, never a token.
"""

from __future__ import annotations

import datetime
import json
import os
from typing import Any

from google.auth import credentials as google_credentials
from google.auth import exceptions as auth_errors
from google.auth.transport import Request
from google.auth.transport.requests import Request as HttpRequest
from google.cloud import firestore

from dltrack.wire.errors import BackendError, ConfigError
from dltrack.wire.training_token import FirebaseGrant

IDENTITY = "identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken"
SECURE_TOKEN = "securetoken.googleapis.com/v1/token"
# Renewed this long before it expires (ID tokens last an hour).
EARLY_S = 300
TIMEOUT_S = 10.0


def _url(endpoint: str, api_key: str) -> str:
    emulator = os.environ.get("FIREBASE_AUTH_EMULATOR_HOST")
    base = f"http://{emulator}/" if emulator else "https://"
    return f"{base}{endpoint}?key={api_key}"


class FirebaseUserCredentials(google_credentials.Credentials):
    """google-auth credentials whose bearer token is a Firebase ID token."""

    def __init__(self, grant: FirebaseGrant) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._grant = grant

    @property
    def id_token(self) -> str | None:
        # google-cloud-firestore sends `id_token` to the emulator (rules are evaluated on it).
        return self.token

    def refresh(self, request: Request) -> None:
        answer = post(
            request,
            SECURE_TOKEN,
            self._grant.api_key,
            f"grant_type=refresh_token&refresh_token={self._grant.refresh_token}",
            "application/x-www-form-urlencoded",
        )
        self.token = answer["id_token"]
        # google-auth compares `expiry` with a naive UTC time.
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        lifetime = int(answer["expires_in"])
        self.expiry = now + datetime.timedelta(seconds=max(lifetime - EARLY_S, 30))


def sign_in(request: Request, custom_token: str, api_key: str) -> str:
    """The refresh token of the user that `custom_token` names (the owner's side, at grant)."""
    body = json.dumps({"token": custom_token, "returnSecureToken": True})
    return str(post(request, IDENTITY, api_key, body, "application/json")["refreshToken"])


def post(request: Request, endpoint: str, api_key: str, body: str, kind: str) -> Any:
    """POST to a Firebase Auth REST endpoint; its JSON answer, or a one-line dltrack error."""
    name = endpoint.split("/", 1)[0]
    try:
        response = request(
            url=_url(endpoint, api_key),
            method="POST",
            body=body.encode(),
            headers={"Content-Type": kind},
            timeout=TIMEOUT_S,
        )
    except auth_errors.TransportError as exc:
        raise BackendError(f"cannot reach {name} to sign in the training: {exc}") from None
    if response.status in (400, 401, 403):
        # Revoked (`dltrack grant --revoke`), expired, or for another project.
        raise ConfigError(
            f"{name} refused the training token (HTTP {response.status}); make a new one "
            "with `dltrack grant KEY`"
        )
    if response.status != 200:
        raise BackendError(f"{name} answered HTTP {response.status} to the sign-in")
    try:
        return json.loads(response.data)
    except ValueError:
        raise BackendError(f"{name} answered something that is not JSON") from None


class UserClient(firestore.Client):
    """A Firestore client that calls as a Firebase user (`credentials.token` is an ID token)."""

    def __init__(self, project: str, credentials: Any) -> None:
        super().__init__(project=project, credentials=credentials)
        self._user = credentials

    @property
    def _rpc_metadata(self) -> list[tuple[str, str]]:
        metadata = list(super()._rpc_metadata)
        if self._emulator_host is None:
            return metadata  # the channel's credentials add the ID token to every call
        # The client sends the emulator "Bearer owner", which bypasses the rules: send the
        # user's ID token instead, so the emulator evaluates them as Firestore does.
        if not self._user.valid:
            self._user.refresh(HttpRequest())
        kept = [(k, v) for k, v in metadata if k.lower() != "authorization"]
        return [*kept, ("authorization", f"Bearer {self._user.token}")]


def signed_in(grant: FirebaseGrant) -> FirebaseUserCredentials:
    """The granted user's credentials, signed in now: a revoked token, a wrong project or no
    network is a dltrack error here, not a failure inside a later call."""
    user = FirebaseUserCredentials(grant)
    user.refresh(HttpRequest())
    return user
