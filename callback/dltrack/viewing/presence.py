"""Which `hello` commands a viewer owes, so that the trainings it follows publish at full rate.

A training nobody greets publishes little (training/presence.py). A viewer says hello to every
training of its model when it connects and every `HELLO_EVERY_S` after, and at once to a
training it hears of for the first time: one that started after the last hello does not know
it is watched, and answers a hello with its full state.
"""

from __future__ import annotations

from dltrack.wire.timing import HELLO_EVERY_S

# Greeted trainings are remembered so each gets one prompt hello; forgotten past this many
# (a model with thousands of trainings), at the price of a few extra hellos.
MAX_GREETED = 1000


class Greeter:
    def __init__(self) -> None:
        self._broadcast_at: float | None = None
        self._greeted: set[str] = set()
        self._owed: list[str] = []

    def connected(self) -> None:
        """A new connection: greet everyone at once (a training may have lost track of us)."""
        self._broadcast_at = None

    def heard(self, training_id: str, message_type: str) -> None:
        if training_id in self._greeted or message_type == "train_end":
            return
        if len(self._greeted) >= MAX_GREETED:
            self._greeted.clear()
        self._greeted.add(training_id)
        self._owed.append(training_id)

    def due(self, now: float) -> list[str | None]:
        """The hellos to send now: training ids, None for all trainings of the model."""
        targets: list[str | None] = []
        if self._broadcast_at is None or now - self._broadcast_at >= HELLO_EVERY_S:
            self._broadcast_at = now
            self._owed.clear()  # the broadcast reaches them too
            targets.append(None)
        targets.extend(self._owed)
        self._owed.clear()
        return targets
