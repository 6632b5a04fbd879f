"""Publishing for viewers, not into the void: a training nobody greets sends only what must
persist, a viewer's hello switches it to the full live rate and gets a full snapshot at once.

Against the embedded broker and the real RabbitMQ, with a real Tracker driven by a plain loop
that pauses where the test needs it (no timing is asserted: only what crossed the broker)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from dltrack import Tracker, Watcher, create_model
from dltrack.backends import open_broker
from dltrack.training import broker_link
from dltrack.training.presence import Presence
from dltrack.viewing.presence import Greeter
from dltrack.wire import config
from dltrack.wire.protocol import HELLO, Command, parse_update
from dltrack.wire.timing import HELLO_EVERY_S, PRESENCE_TTL_S, SNAPSHOT_MIN_GAP_S
from tests.helpers import wait_until
from tests.reliability.support import drive

STEPS = 50


def test_presence_lapses_without_hellos_and_rate_limits_snapshots() -> None:
    presence = Presence()
    assert not presence.watched(0.0) and presence.snapshot_wait(0.0) is None
    presence.hello(10.0)
    assert presence.watched(10.0 + PRESENCE_TTL_S - 1)
    assert not presence.watched(10.0 + PRESENCE_TTL_S + 1)
    assert presence.snapshot_wait(10.0) == 0
    presence.snapshot_sent(10.0)
    # A flood of hellos: one snapshot per gap, however many arrive.
    for _ in range(100):
        presence.hello(10.1)
    wait = presence.snapshot_wait(10.1)
    assert wait is not None and wait == pytest.approx(SNAPSHOT_MIN_GAP_S - 0.1)


def test_a_viewer_greets_everyone_on_connect_then_newcomers_at_once() -> None:
    greeter = Greeter()
    assert greeter.due(0.0) == [None]
    assert greeter.due(1.0) == []
    greeter.heard("t1", "progress")
    greeter.heard("t1", "heartbeat")
    greeter.heard("t2", "train_end")  # an ended training needs no hello
    assert greeter.due(2.0) == ["t1"]
    assert greeter.due(2.0 + HELLO_EVERY_S) == [None]
    greeter.connected()
    assert greeter.due(3.0 + HELLO_EVERY_S) == [None]


@pytest.fixture(params=["local", "amqp"])
def broker_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # No periodic quiet heartbeat while the test runs: any full snapshot seen is the hello's.
    monkeypatch.setattr(broker_link, "QUIET_HEARTBEAT_S", 3600.0)
    if request.param == "amqp":
        yield request.getfixturevalue("amqp_url")
    else:
        yield config.resolve().broker_url


class PausedTraining:
    """A Tracker driven on a thread that pauses at the start of epoch 1 until released."""

    def __init__(self, key: str, broker: str) -> None:
        self.tracker = Tracker(key, broker=broker)
        self.paused, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _on_batch(self, epoch: int, batch: int) -> None:
        if (epoch, batch) == (1, 0):
            self.paused.set()
            self.release.wait(60)

    def _run(self) -> None:
        drive(self.tracker, 3, STEPS, step_delay=0.002, on_batch=self._on_batch)

    def finish(self) -> None:
        self.release.set()
        self.thread.join(60)


def test_unwatched_training_publishes_little_until_a_hello_switches_it_on(
    broker_url: str,
) -> None:
    key = create_model("presence").key
    broker = open_broker(broker_url)
    feed = broker.subscribe_updates(key)
    heard: list[dict[str, Any]] = []

    def until(predicate: Any, what: str) -> dict[str, Any]:
        def found() -> bool:
            heard.extend(m for raw in feed.poll(0.1) if (m := parse_update(raw)) is not None)
            return any(predicate(m) for m in heard)

        wait_until(found, 30, what)
        return next(m for m in heard if predicate(m))

    training = PausedTraining(key, broker_url)
    try:
        assert training.paused.wait(60)
        until(lambda m: m["type"] == "epoch_end" and m["epoch"] == 0, "epoch 0's end")
        unwatched = [m["type"] for m in heard]
        # Nobody watched epoch 0: its record went out, its batches and its start did not.
        assert "progress" not in unwatched and "epoch_begin" not in unwatched, unwatched
        assert unwatched.count("epoch_end") == 1 and unwatched[0] == "train_begin"
        seen = len(heard)

        assert broker.send_command(Command.new(HELLO, key, None, "tester"))
        snapshot = until(
            lambda m: heard.index(m) >= seen and "params" in m.get("snapshot", {}),
            "the full snapshot that answers the hello",
        )
        # The answer, while the training is paused, is the full snapshot: where it is, and
        # the history it already has, not only a liveness beat.
        state = snapshot["snapshot"]
        assert state["params"]["epochs"] == 3
        assert [e["epoch"] for e in state["epochs"]] == [0]
        assert (state["epoch"], state["step"]) == (1, 1)

        training.release.set()
        until(lambda m: m["type"] == "progress" and m["epoch"] == 1, "live progress")
        until(lambda m: m["type"] == "train_end", "the end")
    finally:
        training.finish()
        feed.close()
        broker.close()
    types = [m["type"] for m in heard]
    assert "epoch_begin" in types  # epoch 2 began while watched
    assert "ack" not in types  # a hello is never answered with an ack


def test_a_watcher_joining_an_unwatched_training_sees_it_at_once(broker_url: str) -> None:
    key = create_model("presence").key
    training = PausedTraining(key, broker_url)
    try:
        assert training.paused.wait(60)
        with Watcher(key, broker=broker_url) as watcher:
            # Paused, the training sends nothing by itself: only the Watcher's hello makes it
            # tell where it is (epoch 1, step 1), which the store does not know.
            def current(snap: dict[str, Any]) -> bool:
                runs = snap["trainings"]
                return bool(runs) and (runs[0]["current"] or {}).get("epoch") == 1

            assert watcher.wait_for(current, 30) is not None, watcher.snapshot()
    finally:
        training.finish()
