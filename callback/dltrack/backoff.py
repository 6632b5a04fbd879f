"""Capped exponential backoff for reconnecting to a broker or store."""

from __future__ import annotations

import random
import time


class Backoff:
    def __init__(self, first: float = 0.5, cap: float = 15.0) -> None:
        self.first = first
        self.cap = cap
        self._delay = first
        self.next_at = 0.0

    def ready(self, now: float | None = None) -> bool:
        return (time.monotonic() if now is None else now) >= self.next_at

    def failed(self) -> float:
        """Schedule the next try; returns the delay chosen."""
        # Jitter spreads the retries of many trainings that lost the same broker at once.
        delay = self._delay * random.uniform(0.8, 1.2)
        self.next_at = time.monotonic() + delay
        self._delay = min(self._delay * 2, self.cap)
        return delay

    def succeeded(self) -> None:
        self._delay = self.first
        self.next_at = 0.0
