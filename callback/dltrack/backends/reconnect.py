"""Reconnecting to a broker or a store: one helper for every thread that owns a connection
(the training's broker and store threads, the Watcher's live and store threads)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from dltrack.backends.broker import Broker, Feed
from dltrack.wire.errors import BackendError, ConfigError, DltrackError
from dltrack.wire.timing import (
    FINAL_AFTER_FAILURES,
    FINAL_RETRY_S,
    FIRST_RETRY_S,
    STORE_RECONNECT_CAP_S,
)

log = logging.getLogger("dltrack")


class Backoff:
    """Capped exponential back-off with jitter."""

    def __init__(self, first: float = FIRST_RETRY_S, cap: float = STORE_RECONNECT_CAP_S) -> None:
        self.first = first
        self.cap = cap
        self._delay = first
        self._finals = 0  # final-looking failures in a row
        self.next_at = 0.0

    def ready(self, now: float | None = None) -> bool:
        return (time.monotonic() if now is None else now) >= self.next_at

    def failed(self, final: bool = False) -> float:
        """Schedule the next try; returns the delay chosen. `final`: the error was a
        `ConfigError`, which a retry soon will not cure (see FINAL_RETRY_S)."""
        # A server that is starting or stopping can close a connection mid-handshake, which
        # pika reports as refused credentials or vhost: only a second final error in a row is
        # believed, else one unlucky try would silence the live view for a whole minute.
        self._finals = self._finals + 1 if final else 0
        believed = self._finals >= FINAL_AFTER_FAILURES
        # Jitter spreads the retries of many trainings that lost the same broker at once.
        base = max(FINAL_RETRY_S, self.cap) if believed else self._delay
        delay = base * random.uniform(0.8, 1.2)
        self.next_at = time.monotonic() + delay
        if not believed:
            self._delay = min(self._delay * 2, self.cap)
        return delay

    def succeeded(self) -> None:
        self._delay = self.first
        self._finals = 0
        self.next_at = 0.0


def as_dltrack_error(exc: BaseException) -> DltrackError:
    """The error to report and to decide the back-off by. Anything the backends did not
    foresee counts as a server problem, retried: it must not end live updates for good."""
    if isinstance(exc, DltrackError):
        return exc
    log.debug("unexpected error from a backend", exc_info=exc)
    return BackendError(f"unexpected {type(exc).__name__}")


def close_quietly(*closeables: Closeable | None) -> None:
    """Close connections that may already be broken; never raises."""
    for closeable in closeables:
        if closeable is None:
            continue
        try:
            closeable.close()
        except Exception:  # the connection is already broken: nothing left to close
            log.debug("closing a broken connection", exc_info=True)


class Closeable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=Closeable)


class Reconnecting(Generic[C]):
    """One thread's connection to a broker or a store: opened when first needed, closed when
    it fails, opened again after a capped, jittered back-off.

    The owner calls `get()` each time round its loop (None while the server is away),
    `failed(exc)` when a call on the connection raised, and `succeeded()` once a call went
    through: only a connection that worked resets the back-off, since opening one may not
    touch the server at all (firebase-admin connects lazily).

    Args:
        open_: Opens the connection; raises on failure.
        name: What it connects to, for the log ("broker", "store").
        cap: The longest wait between two tries (wire/timing.py).
        on_failure: Told each failure and the delay chosen before the next try.
        on_recovered: Told when a call succeeds after an outage.
    """

    def __init__(
        self,
        open_: Callable[[], C],
        *,
        name: str,
        cap: float,
        on_failure: Callable[[DltrackError, float], None] | None = None,
        on_recovered: Callable[[], None] | None = None,
    ) -> None:
        self._open = open_
        self.name = name  # "broker" or "store", for the log
        self._on_failure = on_failure
        self._on_recovered = on_recovered
        self.backoff = Backoff(cap=cap)
        self.connection: C | None = None
        self._outage = False

    def get(self) -> C | None:
        if self.connection is None and self.backoff.ready():
            try:
                self.connection = self._open()
            except Exception as exc:  # noqa: BLE001 - every failure is reported and retried
                self.failed(exc, connecting=True)
        return self.connection

    def failed(self, exc: BaseException, connecting: bool = False) -> DltrackError:
        """Drop the connection and schedule the next try; returns the error as reported."""
        error = as_dltrack_error(exc)
        close_quietly(self.connection)
        self.connection = None
        self._outage = True
        delay = self.backoff.failed(final=isinstance(error, ConfigError))
        how = "connect failed" if connecting else "connection lost"
        log.debug("%s %s, retry in %.1fs: %s", self.name, how, delay, error)
        if self._on_failure is not None:
            self._on_failure(error, delay)
        return error

    def succeeded(self) -> None:
        self.backoff.succeeded()
        if self._outage:
            self._outage = False
            if self._on_recovered is not None:
                self._on_recovered()

    def close(self) -> None:
        close_quietly(self.connection)
        self.connection = None


class BrokerLine:
    """A broker connection and the one feed its thread reads (a training's commands, a
    viewer's updates), opened and closed together."""

    def __init__(self, broker: Broker, subscribe: Callable[[Broker], Feed]) -> None:
        self.broker = broker
        try:
            self.feed = subscribe(broker)
        except BaseException:
            close_quietly(broker)
            raise

    def close(self) -> None:
        close_quietly(self.feed, self.broker)
