"""Broker and Store implementations, chosen by URL scheme.

Each implementation imports its client library lazily, so a training box only needs what its
URLs name.
"""

from __future__ import annotations

from dltrack.backends.broker import Broker
from dltrack.backends.store import Store
from dltrack.wire.config import BROKER_SCHEMES, STORE_SCHEMES, check_url, sqlite_path


def open_broker(url: str) -> Broker:
    """Connect to the broker at `url`; raises `ConfigError` or `BackendError`."""
    check_url(url, BROKER_SCHEMES, "broker")
    if url.startswith("sqlite:"):
        from dltrack.backends.local_broker import LocalBroker

        return LocalBroker(sqlite_path(url))
    from dltrack.backends.amqp_broker import AmqpBroker  # MissingDependencyError without pika

    return AmqpBroker(url)


def open_store(url: str) -> Store:
    """Connect to the store at `url`; raises `ConfigError` or `BackendError`."""
    check_url(url, STORE_SCHEMES, "store")
    if url.startswith("sqlite:"):
        from dltrack.backends.local_store import LocalStore

        return LocalStore(sqlite_path(url))
    from dltrack.backends.firestore_store import (
        FirestoreStore,  # MissingDependencyError without firebase-admin
    )

    return FirestoreStore(url)
