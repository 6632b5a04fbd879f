"""The Broker on RabbitMQ (AMQP 0-9-1, through pika's BlockingConnection).

Topology (docs/protocol.md), declared idempotently with the same arguments by every process:

- `dltrack.updates`, a durable topic exchange; updates go out with routing key
  `<model_id>.<training_id>.<type>`. Each feed is its own exclusive, auto-delete queue bound to
  `<model_id>.#`, bounded (`x-max-length`, dropping the oldest) with a short message TTL, so
  viewers never compete for messages and a stalled viewer never grows the broker's memory.
- `dltrack.commands`, a durable topic exchange; a listening training owns an exclusive,
  auto-delete queue bound to `<model_id>.<training_id>` and `<model_id>.all`. Commands are
  published `mandatory` on a confirming channel, so "no training is listening" comes back as a
  returned message instead of vanishing.

Threads: a pika connection is not thread-safe. An `AmqpBroker` and its feeds belong to the thread
that created them; other threads hand work to that thread (the Tracker's worker, the Watcher's
feed thread). That thread must call a feed's `poll` every few seconds so heartbeats flow.

Errors, and what the caller should do with them:
- `BackendError`, transient, retry with backoff by opening a new `AmqpBroker`: connection
  refused, timeout, temporary DNS failure, connection or channel lost, broker closed the
  connection, blocked connection timed out. Once raised, this instance is dead.
- `ConfigError`, final, retrying will not help until the URL changes: credentials refused, vhost
  missing or refused, host name that does not exist, TLS handshake or certificate failure,
  permissions refused on the vhost.
No message ever holds the password: URLs are shown through `config.mask_url`.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from dltrack.backends.broker import Broker, Feed
from dltrack.wire.config import mask_url
from dltrack.wire.errors import BackendError, ConfigError, DltrackError, MissingDependencyError
from dltrack.wire.keys import model_id_of
from dltrack.wire.protocol import ALL_TRAININGS, Command, Message, encode

try:
    import pika
    import pika.exceptions as pika_errors
    from pika.adapters.utils.connection_workflow import (
        AMQPConnectorException,
        AMQPConnectorPhaseErrorBase,
        AMQPConnectorStackTimeout,
    )
except ModuleNotFoundError as exc:  # a core dependency, but a training box may lack it
    raise MissingDependencyError("AMQP support needs pika: pip install pika") from exc

UPDATES_EXCHANGE = "dltrack.updates"
COMMANDS_EXCHANGE = "dltrack.commands"
# A viewer's queue: bounded in length and age, oldest dropped first. Every process must declare
# it with exactly these arguments.
FEED_ARGUMENTS = {"x-max-length": 1000, "x-overflow": "drop-head", "x-message-ttl": 30_000}
FEED_PREFETCH = 500
# Defaults for the connection; a URL query (`?heartbeat=60`) overrides any of them.
CONNECTION_DEFAULTS = {
    "heartbeat": 30,
    "blocked_connection_timeout": 30,
    "socket_timeout": 5,
    "stack_timeout": 10,
    "connection_attempts": 1,
}
JSON = pika.BasicProperties(content_type="application/json", delivery_mode=1)


def connection_parameters(url: str) -> pika.URLParameters:
    params = pika.URLParameters(url)
    given = set(parse_qs(urlsplit(url).query))
    for name, value in CONNECTION_DEFAULTS.items():
        if name not in given:
            setattr(params, name, value)
    if url.lower().startswith("amqps:") and "ssl_options" not in given:
        # Verify the certificate and the host name (CloudAMQP serves valid certificates).
        params.ssl_options = pika.SSLOptions(ssl.create_default_context(), params.host)
    return params


def _connect_error(exc: BaseException, url: str) -> DltrackError:
    """Translate a failure to open the connection into a one-line, secret-free error."""
    shown = mask_url(url)
    parts = urlsplit(url)
    user = unquote(parts.username or "guest")
    vhost = unquote(parts.path[1:].split("/")[0]) if len(parts.path) > 1 else "/"
    if isinstance(exc, pika_errors.ProbableAuthenticationError | pika_errors.AuthenticationError):
        return ConfigError(
            f"the broker refused user {user!r}: check the password in the broker URL {shown}"
        )
    if isinstance(exc, pika_errors.ProbableAccessDeniedError):
        if vhost == "/":
            return ConfigError(
                f"the broker at {shown} refused the default vhost '/': "
                "CloudAMQP URLs end in /VHOST; copy the whole URL from the console"
            )
        return ConfigError(
            f"the broker has no vhost {vhost!r} open to user {user!r} ({shown}): check the end "
            "of the URL; CloudAMQP URLs end in /VHOST; copy the whole URL from the console"
        )
    root = _root(exc)
    if isinstance(root, socket.gaierror):
        if root.errno == socket.EAI_AGAIN:
            return BackendError(f"cannot resolve the broker host in {shown} right now (DNS)")
        return ConfigError(f"the broker host {parts.hostname!r} does not exist (DNS): see {shown}")
    if isinstance(root, ssl.SSLCertVerificationError):
        return ConfigError(
            f"the broker's TLS certificate did not verify ({root.verify_message}) for {shown}: "
            "use the host name exactly as the console shows it"
        )
    if isinstance(root, ssl.SSLError):
        return ConfigError(
            f"TLS with the broker at {shown} failed ({root.reason or 'handshake'}): use "
            "amqps:// only with a TLS port (5671 by default), amqp:// with a plain one (5672)"
        )
    return BackendError(f"cannot reach the broker at {shown}: {_reason(exc)}")


def _root(exc: BaseException) -> BaseException:
    """The innermost cause of a pika error (pika nests the socket or TLS error)."""
    for _ in range(5):
        if isinstance(exc, AMQPConnectorPhaseErrorBase):
            exc = exc.exception
        elif isinstance(exc, pika_errors.AMQPConnectionError) and exc.args:
            if not isinstance(exc.args[0], BaseException):
                break
            exc = exc.args[0]
        else:
            break
    return exc


def _reason(exc: BaseException) -> str:
    root = _root(exc)
    if isinstance(root, TimeoutError | AMQPConnectorStackTimeout):
        return "timed out"
    if isinstance(root, ConnectionRefusedError):
        return "connection refused"
    text = str(root) or type(root).__name__
    return text.splitlines()[0][:200]


def _lost(exc: BaseException, url: str) -> DltrackError:
    """The dltrack error for a failure on an open connection."""
    if isinstance(exc, pika_errors.ChannelClosedByBroker) and exc.reply_code == 403:
        return ConfigError(
            f"the broker at {mask_url(url)} refused an operation ({exc.reply_text}): "
            "the user needs configure, write and read permissions on the vhost"
        )
    return BackendError(f"lost the broker connection ({mask_url(url)}): {_reason(exc)}")


class _QueueFeed(Feed):
    """One exclusive queue on its own channel; bodies buffered until `poll` takes them."""

    def __init__(self, broker: AmqpBroker, exchange: str, bindings: list[str], **args: Any):
        self._broker = broker
        self._bodies: list[bytes] = []
        self._last_tag = 0
        self._closed = False
        self._woken = False  # set on the owner thread, by the callback wake() schedules
        with broker.guarded():
            self._channel = broker._connection.channel()
            declared = self._channel.queue_declare(
                "", exclusive=True, auto_delete=True, arguments=args or None
            )
            self._queue = declared.method.queue
            for routing_key in bindings:
                self._channel.queue_bind(self._queue, exchange, routing_key)
            self._channel.basic_qos(prefetch_count=FEED_PREFETCH)
            self._consumer = self._channel.basic_consume(self._queue, self._on_message)

    def _on_message(self, _channel: Any, method: Any, _props: Any, body: bytes) -> None:
        self._bodies.append(body)
        self._last_tag = method.delivery_tag

    def poll(self, timeout: float) -> list[bytes]:
        if self._closed:
            raise BackendError("this feed is closed")
        self._broker._wait_for(lambda: bool(self._bodies) or self._woken, timeout)
        self._woken = False
        bodies, self._bodies = self._bodies, []
        if bodies:
            # One ack for the whole batch: frees prefetch room, so the client holds at most
            # FEED_PREFETCH unread messages and the rest wait (bounded) in the queue.
            with self._broker.guarded():
                self._channel.basic_ack(self._last_tag, multiple=True)
        return bodies

    def wake(self) -> None:
        # pika's one thread-safe entry point: it also interrupts process_data_events. On a
        # closed or closing connection it raises; the owner's poll ends by itself then.
        with suppress(Exception):
            self._broker._connection.add_callback_threadsafe(self._on_wake)

    def _on_wake(self) -> None:
        self._woken = True

    def close(self) -> None:
        """Delete the queue (and with it the bindings); never raises."""
        if self._closed:
            return
        self._closed = True
        try:
            # Cancelled first: deleting the queue under a live consumer makes pika log a
            # warning when the channel closes (at the end of every fit(), every viewer).
            self._channel.basic_cancel(self._consumer)
            self._channel.queue_delete(self._queue)
            self._channel.close()
        except Exception:  # noqa: BLE001 - the connection is gone, and the queue with it
            pass


class AmqpBroker(Broker):
    """A Broker on RabbitMQ at `url` (`amqp://` or `amqps://`); see the module docstring.

    Args:
        url: `amqp[s]://user:password@host[:port]/vhost`, as CloudAMQP's console shows it.
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._failure: DltrackError | None = None
        try:
            self._connection = pika.BlockingConnection(connection_parameters(url))
        # pika's connection workflow raises its own errors besides AMQPError (a server that
        # accepts TCP and then never answers gives AMQPConnectorStackTimeout).
        except (pika_errors.AMQPError, AMQPConnectorException, OSError) as exc:
            raise _connect_error(exc, url) from None
        except ValueError as exc:  # pika's own URL checks (e.g. a bad query value)
            raise ConfigError(f"malformed broker URL {mask_url(url)}: {exc}") from None
        try:
            with self.guarded():
                self._updates = self._connection.channel()
                self._commands = self._connection.channel()
                self._commands.confirm_delivery()
                for exchange in (UPDATES_EXCHANGE, COMMANDS_EXCHANGE):
                    self._updates.exchange_declare(exchange, exchange_type="topic", durable=True)
        except BaseException:
            self.close()
            raise

    @contextmanager
    def guarded(self) -> Iterator[None]:
        """Turn any failure of the connection inside the block into a dltrack error."""
        if self._failure is None and self._connection.is_closed:
            self._failure = BackendError(f"the broker connection ({mask_url(self._url)}) is closed")
        if self._failure is not None:
            # pika fails oddly on a closed connection (a ValueError from its timers): don't
            # ask it, repeat why it closed (a fresh exception: no traceback grows on retries).
            raise type(self._failure)(*self._failure.args) from None
        try:
            yield
        except (pika_errors.AMQPError, OSError) as exc:
            self._failure = _lost(exc, self._url)
            raise self._failure from None

    def _wait_for(self, done: Callable[[], bool], timeout: float) -> None:
        """Process I/O until `done()` or `timeout` s have passed (at least once)."""
        end = time.monotonic() + max(timeout, 0.0)
        while True:
            # Already satisfied (another feed's poll dispatched our messages): don't block.
            remaining = 0.0 if done() else end - time.monotonic()
            with self.guarded():
                self._connection.process_data_events(max(remaining, 0.0))
            if done() or remaining <= 0:
                return

    def publish_update(self, message: Message) -> None:
        routing_key = f"{message['model_id']}.{message['training_id']}.{message['type']}"
        body = encode(message)
        with self.guarded():
            self._updates.basic_publish(UPDATES_EXCHANGE, routing_key, body, JSON)

    def subscribe_updates(self, model: str) -> Feed:
        return _QueueFeed(self, UPDATES_EXCHANGE, [f"{model_id_of(model)}.#"], **FEED_ARGUMENTS)

    def listen_commands(self, model: str, training_id: str) -> Feed:
        mid = model_id_of(model)
        bindings = [f"{mid}.{training_id}", f"{mid}.{ALL_TRAININGS}"]
        return _QueueFeed(self, COMMANDS_EXCHANGE, bindings)

    def send_command(self, command: Command) -> bool:
        routing_key = f"{command.model_id}.{command.target}"
        body = encode(command.to_message())
        with self.guarded():
            try:
                self._commands.basic_publish(
                    COMMANDS_EXCHANGE, routing_key, body, JSON, mandatory=True
                )
            except pika_errors.UnroutableError:  # returned: no queue bound, nobody listening
                return False
        return True

    def announce(self, command: Command) -> None:
        # Not mandatory and not confirmed: a hello nobody receives would otherwise come back
        # (pika logs each return as a warning) and block for a round trip.
        routing_key = f"{command.model_id}.{command.target}"
        with self.guarded():
            self._updates.basic_publish(
                COMMANDS_EXCHANGE, routing_key, encode(command.to_message()), JSON
            )

    def close(self) -> None:
        """Close the connection (and every feed with it); never raises."""
        try:
            if self._connection.is_open:
                self._connection.close()
        except Exception:  # noqa: BLE001 - already broken: nothing left to close
            pass
