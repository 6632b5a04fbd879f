"""Broker and Store implementations, chosen by URL scheme.

Each implementation imports its client library lazily, so a training box only needs what its
URLs name.
"""

from __future__ import annotations

from ..broker import Broker
from ..config import BROKER_SCHEMES, STORE_SCHEMES, check_url, sqlite_path
from ..errors import ConfigError
from ..store import Store


def open_broker(url: str) -> Broker:
    """Connect to the broker at `url`; raises `ConfigError` or `BackendError`."""
    check_url(url, BROKER_SCHEMES, "broker")
    if url.startswith("sqlite:"):
        from .local_broker import LocalBroker

        return LocalBroker(sqlite_path(url))
    try:
        from .amqp_broker import AmqpBroker
    except ImportError as exc:  # its message names the pip install to run
        raise ConfigError(str(exc)) from None
    return AmqpBroker(url)


def open_store(url: str) -> Store:
    """Connect to the store at `url`; raises `ConfigError` or `BackendError`."""
    check_url(url, STORE_SCHEMES, "store")
    if url.startswith("sqlite:"):
        from .local_store import LocalStore

        return LocalStore(sqlite_path(url))
    try:
        from .firestore_store import FirestoreStore
    except ImportError as exc:  # its message names the pip install to run
        raise ConfigError(str(exc)) from None
    return FirestoreStore(url)
