"""The owner's side of a Firestore grant: a Firebase user per model, made and revoked with the
owner's admin credentials (firebase-admin's `auth`), and signed in once to get the long-lived
refresh token that a training token carries (`firebase_user`)."""

from __future__ import annotations

import secrets

from dltrack.backends.firebase_user import sign_in
from dltrack.backends.firestore_credentials import firebase_credential
from dltrack.wire.errors import BackendError, ConfigError, MissingDependencyError

try:
    import firebase_admin
    from firebase_admin import auth
    from firebase_admin import exceptions as firebase_errors
    from google.auth.transport.requests import Request
except ModuleNotFoundError as exc:
    raise MissingDependencyError(
        "granting Firestore access needs firebase-admin: pip install 'dltrack[firestore]'"
    ) from exc


def user_id(model_id: str) -> str:
    return f"dltrack-{model_id}"


def _app(project: str) -> firebase_admin.App:
    return firebase_admin.initialize_app(
        firebase_credential(),
        {"projectId": project},
        name=f"dltrack-grant-{project}-{secrets.token_hex(4)}",
    )


def grant(project: str, model_id: str, api_key: str) -> str:
    """A refresh token of the model's Firebase user (claim `mid`: the model id)."""
    app = _app(project)
    try:
        try:
            custom = auth.create_custom_token(user_id(model_id), {"mid": model_id}, app=app)
        except (ValueError, auth.TokenSignError) as exc:
            raise ConfigError(
                f"cannot sign a Firebase custom token ({type(exc).__name__}): grant with a "
                "service-account key of this project (DLTRACK_FIRESTORE_CREDENTIALS)"
            ) from None
        return sign_in(Request(), custom.decode(), api_key)
    finally:
        firebase_admin.delete_app(app)


def revoke(project: str, model_id: str) -> bool:
    """Delete the model's Firebase user, which ends its refresh token; False if none."""
    app = _app(project)
    try:
        auth.delete_user(user_id(model_id), app=app)
    except auth.UserNotFoundError:
        return False
    except firebase_errors.FirebaseError as exc:
        raise BackendError(f"Firebase Auth refused to revoke: {exc.code}") from None
    finally:
        firebase_admin.delete_app(app)
    return True
