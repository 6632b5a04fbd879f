"""The Broker interface: frequent, ephemeral messages (progress, heartbeats, acks, commands).

Implementations: `backends.local_broker.LocalBroker` (one SQLite file, the embedded default) and
`backends.amqp_broker.AmqpBroker` (RabbitMQ). A Broker and the feeds it opens belong to the one
thread that created them (pika connections are not thread-safe); other threads hand work to that
thread. Channels and routing name a model by its public id, never its key. Methods raise
`BackendError` when the server cannot be reached; callers decide whether
to retry.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from dltrack.wire.protocol import Command, Message


class Feed(ABC):
    """A stream of raw message bodies; parse them with `protocol.parse_update/parse_command`."""

    @abstractmethod
    def poll(self, timeout: float) -> list[bytes]:
        """Wait up to `timeout` seconds for messages; return what arrived (maybe nothing)."""

    @abstractmethod
    def wake(self) -> None:
        """Make a `poll` under way in the owner thread (or its next one) return at once.

        The one method another thread may call, so that it can hand the owner work (a command
        to send) without waiting out the poll. Never raises.
        """

    @abstractmethod
    def close(self) -> None: ...


class Broker(ABC):
    @abstractmethod
    def publish_update(self, message: Message) -> None:
        """Send an update to every viewer of `message["model_id"]`."""

    @abstractmethod
    def subscribe_updates(self, model: str) -> Feed:
        """A feed of every update of `model` (a key or an id) from now on; each feed its own."""

    @abstractmethod
    def listen_commands(self, model: str, training_id: str) -> Feed:
        """A feed of the commands addressed to this training or to all trainings of `model`."""

    @abstractmethod
    def send_command(self, command: Command) -> bool:
        """Send `command`; False when no running training could receive it."""

    def announce(self, command: Command) -> None:
        """Send a presence command (`protocol.HELLO`): best-effort, never waited for, and
        nobody listening is no news (most of the time no training runs)."""
        self.send_command(command)

    @abstractmethod
    def close(self) -> None: ...
