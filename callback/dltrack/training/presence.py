"""Whether anybody watches this training, from the viewers' `hello` commands.

A training nobody watches publishes only what must persist or be seen late (train_begin,
epoch_end, train_end, acks) and a slow heartbeat: on a hosted broker every message counts
against a plan. A viewer's hello switches it to the full live rate and asks for a full snapshot
at once; presence lapses when the hellos stop. No per-viewer state is kept (a flood of hellos
from many senders costs the same memory as one), and the snapshots hellos ask for are rate
limited, so a hello can change nothing but how much this training publishes, and by a bounded
amount.
"""

from __future__ import annotations

import math

from dltrack.wire.timing import PRESENCE_TTL_S, SNAPSHOT_MIN_GAP_S


class Presence:
    def __init__(self) -> None:
        self.watched_until = -math.inf
        self.snapshot_due = False
        self._snapshot_at = -math.inf

    def hello(self, now: float) -> None:
        self.watched_until = now + PRESENCE_TTL_S
        # Also while already watched: the hello may be a second viewer's, which knows nothing.
        self.snapshot_due = True

    def watched(self, now: float) -> bool:
        return now < self.watched_until

    def snapshot_wait(self, now: float) -> float | None:
        """Seconds until a snapshot a hello asked for may go out (0: now); None if none owed."""
        if not self.snapshot_due:
            return None
        return max(0.0, self._snapshot_at + SNAPSHOT_MIN_GAP_S - now)

    def snapshot_sent(self, now: float) -> None:
        """A full snapshot went out (for whatever reason): owed ones are paid."""
        self.snapshot_due = False
        self._snapshot_at = now
