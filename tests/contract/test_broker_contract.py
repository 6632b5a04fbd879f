"""One behaviour for every Broker: the embedded SQLite one and RabbitMQ (real server).

Each test opens several brokers on the same URL, as separate processes would: a training that
publishes and listens, viewers that subscribe, a CLI that sends commands.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dltrack.backends import open_broker
from dltrack.backends.broker import Broker, Feed
from dltrack.wire.keys import model_id, new_model_key, new_training_id
from dltrack.wire.protocol import (
    HEARTBEAT,
    STOP,
    STOP_AFTER_EPOCH,
    Command,
    make_update,
    parse_command,
    parse_update,
)
from tests.helpers import pump

OpenBroker = Callable[[], Broker]


@pytest.fixture(params=["local", pytest.param("amqp", marks=pytest.mark.amqp)])
def broker_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "local":
        return f"sqlite://{tmp_path / 'broker.db'}"
    return str(request.getfixturevalue("amqp_url"))


@pytest.fixture
def new_broker(broker_url: str) -> Iterator[OpenBroker]:
    """Opens brokers on the same server (each as a separate process would); closes them all."""
    opened: list[Broker] = []

    def make() -> Broker:
        broker = open_broker(broker_url)
        opened.append(broker)
        return broker

    yield make
    for broker in opened:
        broker.close()


def collect(feed: Feed, count: int, timeout: float = 5.0) -> list[bytes]:
    """Poll `feed` until `count` messages arrived or `timeout` passed."""
    bodies: list[bytes] = []
    deadline = time.monotonic() + timeout
    while len(bodies) < count and time.monotonic() < deadline:
        bodies += feed.poll(min(0.2, max(deadline - time.monotonic(), 0.0)))
    return bodies


def settle(feed: Feed, seconds: float = 0.5) -> list[bytes]:
    """Everything `feed` receives in the next `seconds` (to prove that nothing else comes)."""
    bodies: list[bytes] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        bodies += feed.poll(max(deadline - time.monotonic(), 0.0))
    return bodies


def heartbeat(model_key: str, training_id: str, seq: int) -> dict[str, object]:
    return make_update(HEARTBEAT, model_id(model_key), training_id, seq, snapshot={"n": seq})


def seqs(bodies: list[bytes], training_id: str | None = None) -> list[int]:
    parsed = [parse_update(body) for body in bodies]
    assert all(message is not None for message in parsed), "a body did not parse"
    return [
        m["seq"] for m in parsed if m and (training_id is None or m["training_id"] == training_id)
    ]


def test_every_feed_sees_every_update_in_order(new_broker: OpenBroker) -> None:
    key, training = new_model_key(), new_training_id()
    publisher, viewer_a, viewer_b = new_broker(), new_broker(), new_broker()
    feeds = [viewer_a.subscribe_updates(key), viewer_b.subscribe_updates(key)]
    feeds.append(viewer_a.subscribe_updates(key))  # two feeds on one connection too
    for seq in range(1, 51):
        publisher.publish_update(heartbeat(key, training, seq))
    for feed in feeds:
        assert seqs(collect(feed, 50)) == list(range(1, 51))


def test_updates_keep_each_publishers_order(new_broker: OpenBroker) -> None:
    key = new_model_key()
    first, second = new_training_id(), new_training_id()
    pub_1, pub_2, viewer = new_broker(), new_broker(), new_broker()
    feed = viewer.subscribe_updates(key)
    for seq in range(1, 101):
        pub_1.publish_update(heartbeat(key, first, seq))
        pub_2.publish_update(heartbeat(key, second, seq))
    bodies = collect(feed, 200)
    assert seqs(bodies, first) == list(range(1, 101))
    assert seqs(bodies, second) == list(range(1, 101))


def test_feed_sees_only_its_model_key(new_broker: OpenBroker) -> None:
    key = new_model_key()
    longer = key + "x"  # a prefix of another key must not match it
    training = new_training_id()
    publisher, viewer = new_broker(), new_broker()
    feed = viewer.subscribe_updates(key)
    publisher.publish_update(heartbeat(longer, training, 1))
    publisher.publish_update(heartbeat(new_model_key(), training, 2))
    publisher.publish_update(heartbeat(key, training, 3))
    assert seqs(collect(feed, 1) + settle(feed)) == [3]


def test_feed_starts_with_what_is_published_after_it_opens(new_broker: OpenBroker) -> None:
    key, training = new_model_key(), new_training_id()
    publisher, viewer = new_broker(), new_broker()
    publisher.publish_update(heartbeat(key, training, 1))
    feed = viewer.subscribe_updates(key)
    publisher.publish_update(heartbeat(key, training, 2))
    assert seqs(collect(feed, 1) + settle(feed, 0.3)) == [2]


def test_poll_waits_about_its_timeout_when_nothing_comes(new_broker: OpenBroker) -> None:
    feed = new_broker().subscribe_updates(new_model_key())
    started = time.monotonic()
    assert feed.poll(0.3) == []
    assert 0.2 <= time.monotonic() - started < 2.0


def test_wake_from_another_thread_ends_a_poll_and_loses_nothing(new_broker: OpenBroker) -> None:
    key, training = new_model_key(), new_training_id()
    publisher, viewer = new_broker(), new_broker()
    feed = viewer.subscribe_updates(key)
    timer = threading.Timer(0.3, feed.wake)
    timer.start()
    started = time.monotonic()
    assert feed.poll(60.0) == []  # woken: back long before the timeout, with nothing
    assert time.monotonic() - started < 30.0
    timer.join()
    # A wake with no poll under way ends the next one; messages still arrive after it.
    feed.wake()
    started = time.monotonic()
    assert feed.poll(60.0) == []
    assert time.monotonic() - started < 30.0
    publisher.publish_update(heartbeat(key, training, 1))
    assert seqs(collect(feed, 1)) == [1]


def test_commands_reach_only_the_addressed_training(new_broker: OpenBroker) -> None:
    key = new_model_key()
    first, second = new_training_id(), new_training_id()
    listen_1 = new_broker().listen_commands(key, first)
    listen_2 = new_broker().listen_commands(key, second)
    # Same training id under another key: must never see this key's commands.
    stranger = new_broker().listen_commands(new_model_key(), first)
    sender = new_broker()

    to_first = Command.new(STOP, key, first, "test")
    assert sender.send_command(to_first)
    assert [parse_command(b) for b in collect(listen_1, 1)] == [to_first]
    assert settle(listen_2, 0.3) == []

    to_all = Command.new(STOP_AFTER_EPOCH, key, None, "test")
    assert sender.send_command(to_all)
    for feed in (listen_1, listen_2):
        assert [parse_command(b) for b in collect(feed, 1)] == [to_all]
    assert settle(stranger, 0.3) == []


def test_send_command_is_false_when_nobody_listens(new_broker: OpenBroker) -> None:
    key, training = new_model_key(), new_training_id()
    sender = new_broker()
    assert not sender.send_command(Command.new(STOP, key, None, "test"))
    assert not sender.send_command(Command.new(STOP, key, training, "test"))
    new_broker().listen_commands(key, training)
    # Another training of the key listens, but not the addressed one.
    assert not sender.send_command(Command.new(STOP, key, new_training_id(), "test"))
    assert sender.send_command(Command.new(STOP, key, training, "test"))


def test_closing_the_command_feed_removes_the_listener(new_broker: OpenBroker) -> None:
    key, training = new_model_key(), new_training_id()
    trainer, sender = new_broker(), new_broker()
    feed = trainer.listen_commands(key, training)
    assert sender.send_command(Command.new(STOP, key, training, "test"))
    feed.close()
    pump(trainer, 0.1)
    assert not sender.send_command(Command.new(STOP, key, training, "test"))
    assert not sender.send_command(Command.new(STOP, key, None, "test"))


def test_close_is_safe_after_use(new_broker: OpenBroker) -> None:
    broker = new_broker()
    feed = broker.subscribe_updates(new_model_key())
    pump(broker, 0.05)
    feed.close()
    feed.close()
    broker.close()
