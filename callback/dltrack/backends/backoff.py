"""Capped exponential backoff for reconnecting to a broker or store."""

from __future__ import annotations

import random
import time

# After a final error (credentials refused, no such vhost or host) retrying at the usual pace
# only floods the server's log with refusals: the URL cannot change under a running process,
# but the server side can (a user or vhost created late), so such errors are retried this
# slowly instead of never.
FINAL_RETRY_S = 60.0
# The broker links (training and viewers) retry at least this often: live updates are worth
# something only while live, so once the broker is back a training reappears within seconds
# (viewers call it `lost` after 6 s of silence, and a stop sent meanwhile finds no listener).
# The store keeps the default cap: its records wait in the spool, and each failed try of a
# remote store costs seconds anyway.
LIVE_RECONNECT_CAP_S = 5.0


class Backoff:
    def __init__(self, first: float = 0.5, cap: float = 15.0) -> None:
        self.first = first
        self.cap = cap
        self._delay = first
        self.next_at = 0.0

    def ready(self, now: float | None = None) -> bool:
        return (time.monotonic() if now is None else now) >= self.next_at

    def failed(self, final: bool = False) -> float:
        """Schedule the next try; returns the delay chosen. `final`: the error was a
        `ConfigError`, which a retry soon will not cure (see FINAL_RETRY_S)."""
        # Jitter spreads the retries of many trainings that lost the same broker at once.
        base = max(FINAL_RETRY_S, self.cap) if final else self._delay
        delay = base * random.uniform(0.8, 1.2)
        self.next_at = time.monotonic() + delay
        if not final:
            self._delay = min(self._delay * 2, self.cap)
        return delay

    def succeeded(self) -> None:
        self._delay = self.first
        self.next_at = 0.0
