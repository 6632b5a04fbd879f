"""Unreachable, unresolvable, hung or refusing servers (docs/architecture.md,
invariants 1 and 7): the
training runs exactly as without dltrack, gets one warning that says what is wrong (never a
secret), and no hook waits on the network."""

from __future__ import annotations

import contextlib
import socket
import statistics
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest

from dltrack import Tracker, create_model
from dltrack.wire.timing import BROKER_LINGER_S, FINAL_AFTER_FAILURES
from tests.reliability.support import (
    Run,
    assert_every_epoch_once,
    captured_logs,
    dltrack_warnings,
    drive,
    record_figure,
)
from tests.servers import PrivateRabbitMQ, services

SECRET = "pw-" + "7f3a9c1e5b"


def closed_port() -> int:
    return services.free_port()


@contextlib.contextmanager
def hung_server() -> Iterator[int]:
    """A port that accepts TCP connections and then never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        listener.close()


def train(tracker: Tracker, seconds: float, steps: int = 20) -> tuple[Run, list[str], list[float]]:
    """A fake training of 3 epochs lasting about `seconds`; (run, dltrack warnings, the time
    each batch hook took)."""
    hook_times: list[float] = []
    hook = tracker.on_train_batch_end

    def timed(batch: int, logs: dict[str, Any] | None = None) -> None:
        started = time.perf_counter()
        hook(batch, logs)
        hook_times.append(time.perf_counter() - started)

    tracker.on_train_batch_end = timed  # type: ignore[method-assign]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = drive(tracker, epochs=3, steps=steps, step_delay=seconds / (3 * steps))
    return run, dltrack_warnings(caught), hook_times


def connect_attempts(messages: list[str]) -> int:
    return sum(m.startswith("broker connect failed") for m in messages)


@pytest.mark.firestore
@pytest.mark.parametrize(
    "case",
    [
        "connection refused",
        "host does not resolve",
        pytest.param("wrong password", marks=pytest.mark.amqp),
    ],
)
def test_broker_settings_that_cannot_work(
    case: str, firestore_url: str, request: pytest.FixtureRequest
) -> None:
    if case == "connection refused":
        broker = f"amqp://guest:{SECRET}@127.0.0.1:{closed_port()}/%2F"
    elif case == "host does not resolve":
        broker = f"amqp://guest:{SECRET}@nonexistent.invalid/%2F"
    else:
        rabbit: PrivateRabbitMQ = request.getfixturevalue("rabbit")
        broker = rabbit.url.replace("guest:guest@", f"guest:{SECRET}@")
    key = create_model(case, store=firestore_url).key
    tracker = Tracker(key, broker=broker, store=firestore_url)
    with captured_logs() as logs:
        run, warned, _ = train(tracker, seconds=3.0)
    assert len(run.history) == 3
    assert len(warned) == 1 and "live updates paused" in warned[0], warned
    assert "guest:***@" in warned[0] and SECRET not in logs.text() + warned[0]
    # Well under the 5 s shutdown_timeout: the broker thread lingers BROKER_LINGER_S at most
    # (plus the store's last write on a loaded machine).
    assert run.train_end_s < BROKER_LINGER_S + 1.5, run.train_end_s
    assert_every_epoch_once(firestore_url, key, str(tracker.training_id), run.history)
    attempts = connect_attempts(logs.messages())
    if case == "connection refused":
        assert attempts >= 3  # transient: retried at the usual pace
    else:
        # Final (ConfigError): believed the second time in a row (a server going down or up
        # can look final once), then retried only every minute, not hammering the server.
        assert attempts == FINAL_AFTER_FAILURES, logs.messages()
    record_figure(f"bad_broker_{case.replace(' ', '_')}", connect_attempts_in_3s=attempts)


@pytest.mark.firestore
def test_hung_broker_never_blocks_a_hook(firestore_url: str) -> None:
    """A server that accepts TCP and never answers: connects hang until their timeout (10 s),
    on dltrack's thread only."""
    key = create_model("hung broker", store=firestore_url).key
    with hung_server() as port:
        tracker = Tracker(
            key, broker=f"amqp://guest:{SECRET}@127.0.0.1:{port}/%2F", store=firestore_url
        )
        run, warned, hook_times = train(tracker, seconds=12.0, steps=200)
    assert len(run.history) == 3
    assert len(warned) == 1 and "timed out" in warned[0], warned
    # Waiting on the network would take seconds; a hand-off takes microseconds.
    assert max(hook_times) < 0.5, max(hook_times)
    # Nothing to deliver through a broker that never answered: no reason to wait long.
    assert run.train_end_s < BROKER_LINGER_S + 1.5, run.train_end_s
    assert_every_epoch_once(firestore_url, key, str(tracker.training_id), run.history)
    ordered = sorted(hook_times)
    record_figure(
        "hung_broker",
        batch_hook_p50_us=statistics.median(ordered) * 1e6,
        batch_hook_p99_us=ordered[int(len(ordered) * 0.99)] * 1e6,
        batch_hook_max_us=ordered[-1] * 1e6,
        train_end_s=run.train_end_s,
    )


@pytest.mark.amqp
@pytest.mark.parametrize("case", ["unreachable", "bad service-account key"])
def test_store_settings_that_cannot_work(
    case: str, amqp_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dltrack.training.spool import Spool, spool_path
    from dltrack.wire import config

    local_store = config.resolve().store_url  # the model lives in a store that works…
    key = create_model(case, store=local_store).key
    store = "firestore://some-project"  # …the training is pointed at one that cannot
    if case == "unreachable":
        monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{closed_port()}")
    else:
        monkeypatch.delenv("FIRESTORE_EMULATOR_HOST", raising=False)
        monkeypatch.setenv("DLTRACK_FIRESTORE_CREDENTIALS", '{"type": "service_account", ' + SECRET)
    tracker = Tracker(key, broker=amqp_url, store=store, shutdown_timeout=1.0)
    with captured_logs() as logs:
        run, warned, _ = train(tracker, seconds=2.0)
    assert len(run.history) == 3
    assert run.train_end_s < 1.0 + 1.5, run.train_end_s  # shutdown_timeout, plus spooling
    *before, last = warned
    assert "could not reach the store" in last and "dltrack sync" in last, warned
    assert len(before) <= 1 and all("kept on disk" in w for w in before), warned
    assert SECRET not in logs.text() + "".join(warned)
    spool = Spool(spool_path(config.resolve().spool_dir, store))
    try:
        left = spool.count(tracker.training_id)
    finally:
        spool.close()
    assert left == 1 + 2 * 3 + 2  # start, 3 x (epoch, update), the end's event, end
    assert f"{left} record(s)" in last


@pytest.mark.amqp
@pytest.mark.firestore
def test_no_network_call_on_the_training_thread(amqp_url: str, firestore_url: str) -> None:
    """Every hook, from train begin to train end, on the real servers: not one call into a
    network client, the spool or a socket from the thread that trains."""
    key = create_model("who does the I/O", store=firestore_url).key
    tracker = Tracker(key, broker=amqp_url, store=firestore_url)
    trainer = threading.get_ident()
    calls: list[str] = []
    watched = ("/pika/", "/grpc/", "/google/", "/firebase_admin/", "dltrack/spool.py", "backends/")

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if threading.get_ident() != trainer:
            return
        if event == "call" and any(w in frame.f_code.co_filename for w in watched):
            calls.append(f"{frame.f_code.co_filename}:{frame.f_code.co_name}")
        elif event == "c_call":
            owner = getattr(arg, "__self__", None)
            module = type(owner).__module__ if owner is not None else arg.__module__
            if module in ("socket", "_socket", "ssl", "_ssl", "sqlite3", "_sqlite3", "select"):
                calls.append(f"{module}.{arg.__qualname__}")

    sys.setprofile(profile)
    try:
        run = drive(tracker, epochs=3, steps=20, step_delay=0.01)
    finally:
        sys.setprofile(None)
    assert len(run.history) == 3
    assert calls == []
    assert_every_epoch_once(firestore_url, key, str(tracker.training_id), run.history)
