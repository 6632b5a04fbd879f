"""A faithful small re-implementation of the 2020 DL-Tracker callback's hot path (the baseline
that DESIGN.md §2 says not to repeat), so its cost can be measured on this machine.

What it keeps from the original (shared/seeds, 2020 report): one `updates_<key>` queue and one
`signal_<key>` queue with a 5 s message TTL; a blocking pika connection opened at train begin;
every batch end builds a message and publishes it synchronously, through a thread that is
started and joined for each batch; a second thread consumes the signal queue and sets
`stop_training` on STOP. What it leaves out: the HTTP calls to the database webhook at
train/epoch begin/end (per-epoch, not per-batch; omitting them flatters the original).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import keras
import pika

TTL_MS = 5000


class Original2020Tracker(keras.callbacks.Callback):
    """The 2020 callback's publishing pattern: synchronous, per batch, thread start+join."""

    def __init__(self, model_key: str, amqp_url: str) -> None:
        super().__init__()
        self.model_key = model_key
        self.amqp_url = amqp_url
        self.updates = f"updates_{model_key}"
        self.signals = f"signal_{model_key}"
        self.connection: Any = None
        self.channel: Any = None
        self.listener: threading.Thread | None = None
        self.listening = threading.Event()
        self.epoch = 0

    def _send(self, message: dict[str, Any]) -> None:
        self.channel.basic_publish(exchange="", routing_key=self.updates, body=json.dumps(message))

    def _publish_in_thread(self, message: dict[str, Any]) -> None:
        # As in the original: a new thread for every message, joined at once.
        sender = threading.Thread(target=self._send, args=(message,))
        sender.start()
        sender.join()

    def _listen(self) -> None:
        connection = pika.BlockingConnection(pika.URLParameters(self.amqp_url))
        channel = connection.channel()
        channel.queue_declare(self.signals, arguments={"x-message-ttl": TTL_MS})

        def on_signal(ch: Any, method: Any, properties: Any, body: bytes) -> None:
            if body == b"STOP":
                self.model.stop_training = True

        channel.basic_consume(self.signals, on_signal, auto_ack=True)
        while self.listening.is_set():
            connection.process_data_events(time_limit=0.1)
        connection.close()

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(self.amqp_url))
        self.channel = self.connection.channel()
        self.channel.queue_declare(self.updates, arguments={"x-message-ttl": TTL_MS})
        self.listening.set()
        self.listener = threading.Thread(target=self._listen, daemon=True)
        self.listener.start()
        self._publish_in_thread({"type": "train_begin", "time": time.time()})

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch = epoch
        self._publish_in_thread({"type": "epoch_begin", "epoch": epoch})

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        message = {
            "type": "batch",
            "epoch": self.epoch,
            "batch": batch,
            "progress": batch,
            **{k: float(v) for k, v in (logs or {}).items()},
        }
        self._publish_in_thread(message)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        message = {"type": "epoch_end", "epoch": epoch}
        message.update({k: float(v) for k, v in (logs or {}).items()})
        self._publish_in_thread(message)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._publish_in_thread({"type": "train_end", "time": time.time()})
        self.listening.clear()
        if self.listener is not None:
            self.listener.join(timeout=2.0)
        self.connection.close()

    def cleanup(self) -> None:
        """Delete the two queues (the original left them to their TTL)."""
        connection = pika.BlockingConnection(pika.URLParameters(self.amqp_url))
        channel = connection.channel()
        channel.queue_delete(self.updates)
        channel.queue_delete(self.signals)
        connection.close()
