"""Shared test helpers: tiny Keras models, the CLI and training child processes, waiting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
DLTRACK = Path(sys.executable).with_name("dltrack")


# -- waiting ----------------------------------------------------------------------------------


def wait_until(
    predicate: Callable[[], T | Literal[False] | None],
    timeout: float,
    what: str = "the condition",
    interval: float = 0.05,
) -> T:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def pump(broker: Any, timeout: float) -> None:
    """Let a broker service its connection (heartbeats, returned messages) for `timeout`
    seconds, as the thread that owns it does between its own calls. The local broker needs
    nothing of the kind."""
    from dltrack.backends.amqp_broker import AmqpBroker

    if isinstance(broker, AmqpBroker):
        broker._wait_for(lambda: False, timeout)
    else:
        time.sleep(timeout)


# -- tiny Keras models ------------------------------------------------------------------------


def tiny_data(samples: int = 64, features: int = 4, seed: int = 0) -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.random((samples, features), dtype="float32")
    y = (x.sum(axis=1, keepdims=True) > features / 2).astype("float32")
    return x, y


def tiny_model(features: int = 4, steps_per_execution: int = 1) -> Any:
    import keras

    model = keras.Sequential(
        [keras.Input((features,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(
        optimizer="sgd",
        loss="mse",
        metrics=["mae"],
        steps_per_execution=steps_per_execution,
    )
    return model


def pace_callback(on_batch: Callable[[int, int], None] | None = None, delay: float = 0.0) -> Any:
    """A callback that sleeps `delay` per batch and calls `on_batch(epoch, batch)`.

    It is not async-safe, so Keras dispatches every batch hook on the training thread, in
    order: a test can hold the training at a chosen batch.
    """
    import keras

    class Pace(keras.callbacks.Callback):
        epoch = 0

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.epoch = epoch

        def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            if delay:
                time.sleep(delay)
            if on_batch is not None:
                on_batch(self.epoch, batch)

    return Pace()


# -- the store --------------------------------------------------------------------------------


def local_store() -> Any:
    """The embedded store of this test's DLTRACK_HOME (close it when done)."""
    from dltrack.backends import open_store
    from dltrack.wire import config

    return open_store(config.resolve().store_url)


def trainings(model_key: str) -> list[Any]:
    store = local_store()
    try:
        return store.list_trainings(model_key)
    finally:
        store.close()


def epochs(model_key: str, training_id: str | None) -> list[Any]:
    assert training_id is not None, "the Tracker has not started"
    store = local_store()
    try:
        return store.list_epochs(model_key, training_id)
    finally:
        store.close()


def wait_for_status(model_key: str, number: int, statuses: tuple[str, ...], timeout: float) -> Any:
    """The training numbered `number` once its stored status is one of `statuses`."""

    def done() -> Any:
        for t in trainings(model_key):
            if t.number == number and t.status in statuses:
                return t
        return None

    return wait_until(done, timeout, f"training #{number} to be {'/'.join(statuses)}")


# -- child processes --------------------------------------------------------------------------


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env.update(extra)
    return env


def run_cli(*args: str, timeout: float = 60.0, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the installed `dltrack` script (a new process) and capture its output."""
    return subprocess.run(
        [str(DLTRACK), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(**env),
        cwd=ROOT,
    )


def start_training(
    model_key: str, epochs: int = 5, step_delay: float = 0.02, batch_size: int = 16
) -> subprocess.Popen[str]:
    """`python -m dltrack.training.demo_model KEY`: a real Keras training in a child process
    (digits, 90 steps per epoch at batch size 16)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dltrack.training.demo_model",
            model_key,
            "--epochs",
            str(epochs),
            "--step-delay",
            str(step_delay),
            "--batch-size",
            str(batch_size),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
        cwd=ROOT,
    )


class JsonViewer:
    """`dltrack watch KEY --json …` in a child process; its snapshots collected as they come."""

    def __init__(self, model_key: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [str(DLTRACK), "watch", model_key, "--json", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
            cwd=ROOT,
        )
        self.started_at = time.monotonic()
        # (seconds since start, snapshot)
        self.snapshots: list[tuple[float, dict[str, Any]]] = []
        self.stray: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                snap = json.loads(line)
            except ValueError:
                self.stray.append(line)
                continue
            with self._lock:
                self.snapshots.append((time.monotonic() - self.started_at, snap))

    def all(self) -> list[tuple[float, dict[str, Any]]]:
        with self._lock:
            return list(self.snapshots)

    def latest(self) -> dict[str, Any] | None:
        with self._lock:
            return self.snapshots[-1][1] if self.snapshots else None

    def training(self, snap: dict[str, Any] | None, training_id: str) -> dict[str, Any] | None:
        if snap is None:
            return None
        return next((t for t in snap["trainings"] if t["training_id"] == training_id), None)

    def epochs_seen(self, training_id: str) -> set[int]:
        seen: set[int] = set()
        for _, snap in self.all():
            t = self.training(snap, training_id)
            if t is not None and t["epochs"]:
                seen |= {e["epoch"] for e in t["epochs"]}
        return seen

    def wait(self, timeout: float) -> tuple[int, str]:
        """Wait for the process to exit; (exit code, stderr)."""
        try:
            self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)
        assert self.proc.stderr is not None
        return self.proc.returncode, self.proc.stderr.read()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
