"""Capped exponential backoff for reconnecting to a broker or store."""

from __future__ import annotations

import random
import time

from dltrack.wire.timing import FINAL_RETRY_S, FIRST_RETRY_S, STORE_RECONNECT_CAP_S


class Backoff:
    def __init__(self, first: float = FIRST_RETRY_S, cap: float = STORE_RECONNECT_CAP_S) -> None:
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
