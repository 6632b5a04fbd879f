"""What a Firestore failure means for the user, in one secret-free line.

Missing credentials are final (`ConfigError`); everything the server or the network says is a
`BackendError`, which callers retry by opening a new store.
"""

from __future__ import annotations

from typing import NoReturn

from google.api_core import exceptions as api_errors
from google.auth import exceptions as auth_errors

from dltrack.backends.firestore_credentials import CREDENTIALS_ENV
from dltrack.wire.errors import BackendError, ConfigError


def server_error(exc: Exception, project: str) -> NoReturn:
    where = f"Firestore project {project!r}"
    if isinstance(exc, auth_errors.DefaultCredentialsError):
        raise ConfigError(
            f"no Google credentials for {where}: set {CREDENTIALS_ENV} to the service-account "
            "key (its JSON text or its path) or GOOGLE_APPLICATION_CREDENTIALS"
        ) from None
    raise BackendError(f"{where} {_failure(exc)}") from None


def _failure(exc: BaseException) -> str:
    """What went wrong, in words, without anything the server echoed of our request."""
    if isinstance(exc, api_errors.RetryError) and exc.cause is not None:
        return _failure(exc.cause)  # retries ran out: say why they were needed
    if isinstance(exc, api_errors.PermissionDenied | api_errors.Unauthenticated):
        return (
            "refused the credentials or this request: use a service-account key of this "
            "project, or a `dltrack grant` token of this model with firestore.rules deployed"
        )
    if isinstance(exc, auth_errors.RefreshError):
        return "refused the credentials when getting an access token (a revoked key?)"
    if isinstance(exc, api_errors.NotFound):
        return (
            "does not exist or has no Firestore database: check the project id, or create "
            "the database in the Firebase console"
        )
    if isinstance(exc, api_errors.ResourceExhausted):
        return "is over its quota: wait, or raise the Firebase plan's limits"
    if isinstance(
        exc,
        api_errors.ServiceUnavailable
        | api_errors.DeadlineExceeded
        | api_errors.RetryError
        | auth_errors.TransportError,
    ):
        return "cannot be reached (server down or no network)"
    if isinstance(exc, api_errors.GoogleAPICallError):
        return f"failed: {exc.code} {str(exc.message).splitlines()[0][:160]}"
    return f"failed: {type(exc).__name__}"
