"""`dltrack grant KEY`: the one narrow secret a training box needs (docs/security.md).

Run on the owner's machine, which holds the full broker URL and the Firebase service account. It
prints `DLTRACK_TRAINING_TOKEN`: the model key (to check command signatures), a broker URL of a
per-model RabbitMQ user where the broker's management API allows one (else the shared URL), and
for Firestore a Firebase user held to firestore.rules. `--revoke` deletes both users.
"""

from __future__ import annotations

import os
import sys
from urllib.parse import urlsplit

from dltrack.cli.parsing import Subparsers, command
from dltrack.viewing import catalog as api
from dltrack.wire import config
from dltrack.wire.errors import ConfigError
from dltrack.wire.keys import check_model_key, model_id
from dltrack.wire.training_token import ENV, FirebaseGrant, TrainingToken

API_KEY_ENV = "DLTRACK_FIREBASE_API_KEY"
SHARED = (
    "dltrack: note: {why}; the token carries the broker's shared URL: command signatures "
    "still protect control, but the training box can see every model's traffic on this "
    "broker (docs/security.md)"
)


def grant(
    key: str,
    broker: str | None,
    store: str | None,
    revoke: bool,
    api_key: str | None,
    management: str | None,
    shared_broker: bool,
) -> int:
    key = check_model_key(key)
    mid = model_id(key)
    settings = config.resolve(broker, store)
    with api.open_settings_store(store) as opened:
        api.get_model(opened, key)  # an unknown key is the caller's mistake: nothing is made
    if revoke:
        return _revoke(settings, mid, management)
    broker_url = _broker(settings.broker_url, mid, management, shared_broker)
    firebase = None
    if urlsplit(settings.store_url).scheme == "firestore":
        from dltrack.backends import firebase_grant

        api_key = api_key or os.environ.get(API_KEY_ENV)
        if not api_key:
            raise ConfigError(
                f"give the Firebase project's Web API key with --api-key or {API_KEY_ENV} "
                "(console: Project settings → General; it is public, not a secret)"
            )
        project = urlsplit(settings.store_url).netloc
        firebase = FirebaseGrant(firebase_grant.grant(project, mid, api_key), api_key)
    token = TrainingToken(key, broker_url, settings.store_url, firebase)
    print(f"{ENV} for model {mid}: put it in the training box's secrets, nothing else needed;")
    print("revoke it with `dltrack grant --revoke KEY`. Keep it secret:")
    print(token.encode())
    return 0


def _broker(url: str, mid: str, management: str | None, shared: bool) -> str:
    if urlsplit(url).scheme not in ("amqp", "amqps"):
        return url
    from dltrack.backends.rabbitmq_users import NoManagementApi, RabbitAdmin, management_url

    if shared:
        print(SHARED.format(why="--shared-broker"), file=sys.stderr)
        return url
    try:
        return RabbitAdmin(url, management or management_url(url)).grant(mid)
    except NoManagementApi as exc:
        print(SHARED.format(why=str(exc)), file=sys.stderr)
        return url


def _revoke(settings: config.Settings, mid: str, management: str | None) -> int:
    done = []
    if urlsplit(settings.broker_url).scheme in ("amqp", "amqps"):
        from dltrack.backends.rabbitmq_users import RabbitAdmin, management_url

        api = management or management_url(settings.broker_url)
        if RabbitAdmin(settings.broker_url, api).revoke(mid):
            done.append("the broker user")
    if urlsplit(settings.store_url).scheme == "firestore":
        from dltrack.backends import firebase_grant

        if firebase_grant.revoke(urlsplit(settings.store_url).netloc, mid):
            done.append("the Firebase user")
    print(
        f"revoked {' and '.join(done)} of model {mid}" if done else f"nothing to revoke for {mid}"
    )
    return 0


def add_parser(subparsers: Subparsers) -> None:
    p = command(subparsers, "grant", grant, "print the one secret a training box needs")
    p.add_argument("key")
    p.add_argument(
        "--revoke", action="store_true", help="delete the model's broker and Firebase users"
    )
    p.add_argument("--api-key", help=f"the Firebase Web API key (default: {API_KEY_ENV})")
    p.add_argument(
        "--management", help="the RabbitMQ management API URL (default: from the broker URL)"
    )
    p.add_argument(
        "--shared-broker",
        action="store_true",
        help="carry the broker URL itself (no per-model user)",
    )
