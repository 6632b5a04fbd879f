"""What dltrack costs on hosted plans, measured on the real RabbitMQ and Firestore emulator.

One training (a real Tracker driven at 10 batches/s by a plain loop) goes through three phases:
nobody watching, watched by one Watcher, then ended with the Watcher still open; a second
Watcher then opens on the finished model. Counted at the client libraries, by the thread that
made the call (the training's `dltrack-broker`/`dltrack-store`, the viewers' `dltrack-watch-*`
and firebase-admin's listener threads): AMQP messages published (by type) and delivered,
Firestore documents read (each `get`, each document a query streams, each document a listener
delivers), written and deleted, and the commits that carried the writes (round trips). Also
the CPU time of the training's two threads (Linux /proc/self/task), which `--cpu-only`
measures alone, so the same script runs against an older checkout (PYTHONPATH) for a
before/after.

    python -m bench.cost [--quick] [--cpu-only] > result.json
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench import driver

Counts = collections.Counter[str]
COUNTS: Counts = collections.Counter()
_lock = threading.Lock()


def role() -> str:
    name = threading.current_thread().name
    if name in ("dltrack-broker", "dltrack-store"):
        return "training"
    return "viewer" if name.startswith("dltrack-watch") else "other"


def count(what: str, n: int = 1) -> None:
    with _lock:
        COUNTS[f"{role()}.{what}"] += n


def _wrap(cls: Any, name: str, after: Any) -> None:
    original = getattr(cls, name)

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        return after(self, result, *args, **kwargs)

    setattr(cls, name, wrapper)


def instrument_amqp() -> None:
    from dltrack.backends import amqp_broker as ab

    def published(_self: Any, result: Any, message: Any, *_: Any) -> Any:
        kind = message["type"] if isinstance(message, dict) else f"command.{message.kind}"
        count(f"amqp.published.{kind}")
        return result

    for method in ("publish_update", "send_command", "announce"):
        if hasattr(ab.AmqpBroker, method):
            _wrap(ab.AmqpBroker, method, published)

    def delivered(_self: Any, result: list[bytes], *_: Any) -> list[bytes]:
        count("amqp.delivered", len(result))
        return result

    _wrap(ab._QueueFeed, "poll", delivered)


def instrument_firestore() -> None:
    from google.cloud.firestore_v1 import batch, document, query

    def one(what: str) -> Any:
        def after(_self: Any, result: Any, *_: Any, **__: Any) -> Any:
            count(f"firestore.{what}")
            return result

        return after

    _wrap(document.DocumentReference, "get", one("reads"))
    # set/update/create go through a WriteBatch (counted at its commit); delete does not.
    _wrap(document.DocumentReference, "delete", one("deletes"))

    def streamed(_self: Any, result: Any, *_: Any, **__: Any) -> Any:
        docs = list(result)
        count("firestore.reads", max(1, len(docs)))  # a query is billed one read at least
        return iter(docs)

    _wrap(query.Query, "stream", streamed)  # CollectionReference.stream comes here too

    original_commit = batch.WriteBatch.commit

    def commit(self: Any, *args: Any, **kwargs: Any) -> Any:
        count("firestore.commits")  # round trips: a batch of writes is one
        for write in self._write_pbs:
            count("firestore.deletes" if write.delete else "firestore.writes")
        return original_commit(self, *args, **kwargs)

    batch.WriteBatch.commit = commit  # type: ignore[method-assign]
    try:  # the listeners' deliveries, as billed: one read per document delivered
        from dltrack.backends import firestore_follow as ff
    except ImportError:  # an older checkout polls instead
        return
    for name in ("_on_model", "_on_trainings"):
        _wrap_listener(ff.FirestoreFollow, name)
    original_epochs = ff.FirestoreFollow._on_epochs

    def on_epochs(self: Any, tid: str, docs: Any, changes: Any, at: Any) -> None:
        with _lock:
            COUNTS["viewer.firestore.reads"] += len(changes)
        original_epochs(self, tid, docs, changes, at)

    ff.FirestoreFollow._on_epochs = on_epochs  # type: ignore[method-assign,assignment]


def _wrap_listener(cls: Any, name: str) -> None:
    original = getattr(cls, name)

    def wrapper(self: Any, docs: Any, changes: Any, at: Any) -> None:
        with _lock:
            COUNTS["viewer.firestore.reads"] += len(changes)
        original(self, docs, changes, at)

    setattr(cls, name, wrapper)


def thread_cpu_s(names: tuple[str, ...]) -> float:
    """CPU seconds (user + system) used so far by this process's threads of these names."""
    tick = os.sysconf("SC_CLK_TCK")
    ids = {t.native_id for t in threading.enumerate() if t.name in names}
    total = 0.0
    for tid in ids:
        try:
            fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


class Training:
    """A Tracker driven at `rate` batches/s, `epoch_s` seconds an epoch, until `stop()`."""

    def __init__(self, key: str, broker: str, store: str, epoch_s: float, rate: float = 10.0):
        self.steps = int(epoch_s * rate)
        self.rate = rate
        self.tracker = driver.tracker(key, broker, store, 10_000, self.steps)
        self.epochs = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        t = self.tracker
        t.on_train_begin()
        start, i = time.monotonic(), 0
        epoch = 0
        while not self._stop.is_set():
            t.on_epoch_begin(epoch)
            for batch in range(self.steps):
                t.on_train_batch_begin(batch)
                t.on_train_batch_end(batch, {"loss": 1.0 / (i + 1)})
                i += 1
                time.sleep(max(0.0, start + i / self.rate - time.monotonic()))
                if self._stop.is_set():
                    break
            t.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1)})
            self.epochs = epoch = epoch + 1
        t.on_train_end()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(60)


def window(seconds: float, training: Training | None = None) -> dict[str, Any]:
    """Counts and training-thread CPU over the next `seconds`."""
    names = ("dltrack-broker", "dltrack-store")
    with _lock:
        before = COUNTS.copy()
    cpu, epochs = thread_cpu_s(names), training.epochs if training else 0
    time.sleep(seconds)
    with _lock:
        diff = COUNTS - before
    return {
        "seconds": seconds,
        "epochs": (training.epochs - epochs) if training else 0,
        "training_cpu_s": thread_cpu_s(names) - cpu,
        "counts": dict(sorted(diff.items())),
    }


def run(quick: bool, cpu_only: bool) -> dict[str, Any]:
    from dltrack import Watcher, create_model

    amqp = os.environ["DLTRACK_TEST_AMQP_URL"]
    os.environ["FIRESTORE_EMULATOR_HOST"] = os.environ["DLTRACK_TEST_FIRESTORE_EMULATOR"]
    store = f"firestore://cost-{secrets.token_hex(4)}"
    instrument_amqp()
    instrument_firestore()
    key = create_model("cost", store=store).key
    unwatched_s, watched_s, idle_s = (30, 20, 30) if quick else (90, 40, 60)
    epoch_s = 15.0 if quick else 30.0
    result: dict[str, Any] = {"epoch_s": epoch_s, "batches_per_s": 10.0}
    training = Training(key, amqp, store, epoch_s)
    time.sleep(5)  # past the start: train_begin, numbering, first heartbeat
    result["unwatched"] = window(unwatched_s, training)
    with Watcher(key, broker=amqp, store=store) as watcher:
        time.sleep(3)  # the join: first reads, the hello and its snapshot
        result["watched"] = window(watched_s, training)
        if cpu_only:
            training.stop()
            return result
        training.stop()
        watcher.wait_for(lambda s: s["trainings"][0]["status"] != "running", 30)
        time.sleep(5)  # the end's records reach the viewer
        result["idle_viewer"] = window(idle_s)
    with _lock:
        before = COUNTS.copy()
    with Watcher(key, broker=amqp, store=store):
        time.sleep(3)
        with _lock:
            result["late_viewer_join"] = dict(sorted((COUNTS - before).items()))
        result["late_viewer_idle"] = window(idle_s)
    result["epochs_total"] = training.epochs
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter windows")
    parser.add_argument("--cpu-only", action="store_true", help="the training's CPU only")
    args = parser.parse_args(argv)
    json.dump(run(args.quick, args.cpu_only), sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
