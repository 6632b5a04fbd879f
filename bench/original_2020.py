"""The 2020 DL-Tracker callback's hot path, re-implemented small: the baseline being measured.

Kept from the original: one `updates_<key>` and one `signal_<key>` queue with a 5 s message
TTL; a blocking pika connection opened at train begin; every hook builds a message and publishes
it synchronously, through a thread started and joined for each message; a second thread consumes
the signal queue and sets `stop_training` on STOP. Left out: its HTTP calls to a database
webhook at train/epoch begin and end (per epoch, so leaving them out flatters it).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import keras
import pika

TTL = {"x-message-ttl": 5000}


class Original2020Tracker(keras.callbacks.Callback):
    def __init__(self, model_key: str, amqp_url: str) -> None:
        super().__init__()
        self.amqp = pika.URLParameters(amqp_url)
        self.updates, self.signals = f"updates_{model_key}", f"signal_{model_key}"
        self.listening = threading.Event()
        self.epoch = 0

    def _publish(self, message: dict[str, Any]) -> None:
        body = json.dumps(message)
        sender = threading.Thread(target=self.channel.basic_publish, args=("", self.updates, body))
        sender.start()  # as in the original: a new thread for every message, joined at once
        sender.join()

    def _listen(self) -> None:
        connection = pika.BlockingConnection(self.amqp)
        channel = connection.channel()
        channel.queue_declare(self.signals, arguments=TTL)

        def on_signal(ch: Any, method: Any, properties: Any, body: bytes) -> None:
            if body == b"STOP":
                self.model.stop_training = True

        channel.basic_consume(self.signals, on_signal, auto_ack=True)
        while self.listening.is_set():
            connection.process_data_events(time_limit=0.1)
        connection.close()

    def on_train_begin(self, logs: Any = None) -> None:
        self.connection = pika.BlockingConnection(self.amqp)
        self.channel = self.connection.channel()
        self.channel.queue_declare(self.updates, arguments=TTL)
        self.listening.set()
        self.listener = threading.Thread(target=self._listen, daemon=True)
        self.listener.start()
        self._publish({"type": "train_begin", "time": time.time()})

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self.epoch = epoch
        self._publish({"type": "epoch_begin", "epoch": epoch})

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        metrics = {k: float(v) for k, v in (logs or {}).items()}
        self._publish(
            {"type": "batch", "epoch": self.epoch, "batch": batch, "progress": batch, **metrics}
        )

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        metrics = {k: float(v) for k, v in (logs or {}).items()}
        self._publish({"type": "epoch_end", "epoch": epoch, **metrics})

    def on_train_end(self, logs: Any = None) -> None:
        self._publish({"type": "train_end", "time": time.time()})
        self.listening.clear()
        self.listener.join(timeout=2.0)
        self.connection.close()

    def cleanup(self) -> None:
        """Delete the two queues (the original left them to their TTL)."""
        connection = pika.BlockingConnection(self.amqp)
        channel = connection.channel()
        channel.queue_delete(self.updates)
        channel.queue_delete(self.signals)
        connection.close()
