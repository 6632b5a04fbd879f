"""Forged, unsigned, foreign-key, stale and replayed commands against a real Keras fit() on a
real RabbitMQ: each is refused with an ack that says why, and changes nothing."""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import pika
import pytest

from dltrack import Tracker, Watcher
from dltrack.backends import open_broker
from dltrack.wire import auth
from dltrack.wire.keys import model_id, new_model_key, new_training_id, viewing_token
from dltrack.wire.protocol import STOP, STOP_AFTER_EPOCH, Command, parse_update
from tests.helpers import pace_callback, tiny_data, tiny_model, trainings, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.amqp]


def signed(command: Command, secret: str) -> Command:
    """`command` with a MAC made with `secret` (an attacker's key, a viewing token…)."""
    unsigned = dataclasses.replace(command, mac=None)
    return dataclasses.replace(unsigned, mac=auth.mac(unsigned.to_message(), secret.encode()))


def forgeries(key: str, training_id: str) -> dict[str, tuple[Command, str]]:
    """What an attacker who may use the broker (but lacks the key) can send: name → (command,
    the refusal it must get)."""

    def mine() -> Command:  # each forgery its own id, so that each ack is told apart
        return dataclasses.replace(
            Command.new(STOP, key, training_id, "mallory"), id=new_training_id()
        )

    return {
        "unsigned": (dataclasses.replace(mine(), mac=None), auth.UNSIGNED),
        "foreign key": (signed(mine(), new_model_key()), auth.BAD_MAC),
        "viewing token": (signed(mine(), viewing_token(key)), auth.BAD_MAC),
        "altered": (
            dataclasses.replace(Command.new(STOP_AFTER_EPOCH, key, training_id, "x"), kind=STOP),
            auth.BAD_MAC,
        ),
        "stale": (
            signed(dataclasses.replace(mine(), ts=time.time() - 2 * auth.MAX_AGE_S), key),
            auth.TOO_OLD.format(auth.MAX_AGE_S),
        ),
    }


def acks_in(feed: Any) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for raw in feed.poll(0.2):
        message = parse_update(raw)
        if message is not None and message["type"] == "ack":
            found.setdefault(message["command_id"], message)
    return found


def test_only_a_command_signed_with_the_key_changes_a_real_fit(
    amqp_url: str, model_key: str
) -> None:
    x, y = tiny_data(160)
    tracker = Tracker(model_key, broker=amqp_url)
    reached, done = threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def attack() -> None:
        broker = open_broker(amqp_url)
        updates = broker.subscribe_updates(model_id(model_key))
        acks: dict[str, dict[str, Any]] = {}
        # An eavesdropper's queue on the command exchange: all it learns is the model id.
        connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        spy = connection.channel()
        spy_queue = spy.queue_declare("", exclusive=True).method.queue
        spy.queue_bind(spy_queue, "dltrack.commands", f"{model_id(model_key)}.#")
        try:
            if not reached.wait(60):
                return
            tid = tracker.training_id
            assert tid is not None
            sent = forgeries(model_key, tid)
            for command, _ in sent.values():
                assert broker.send_command(command)  # delivered: the training listens
            wait_until(lambda: acks.update(acks_in(updates)) or len(acks) >= len(sent), 30)
            session = tracker._session
            results["stop_after_forgeries"] = session and session.stop_request
            results["forged"] = {
                name: (acks[c.id]["accepted"], acks[c.id]["reason"], reason)
                for name, (c, reason) in sent.items()
            }
            with Watcher(model_key, broker=amqp_url, sender="owner") as watcher:
                good = watcher.stop_training(tid, after_epoch=True)
                wait_until(lambda: acks.update(acks_in(updates)) or good in acks, 30)
            results["good"] = (good, acks[good]["accepted"])

            # The owner's command as anyone on the broker saw it, sent again byte for byte.
            def captured() -> bytes | None:
                body = spy.basic_get(spy_queue, auto_ack=True)[2]
                return body if body and good.encode() in body else None

            body = wait_until(captured, 10)
            spy.basic_publish("dltrack.commands", f"{model_id(model_key)}.{tid}", body)
            replays: list[dict[str, Any]] = []

            def refused() -> bool:
                for raw in updates.poll(0.2):
                    message = parse_update(raw)
                    if message and message["type"] == "ack" and message["command_id"] == good:
                        replays.append(message)
                return bool(replays)

            wait_until(refused, 30)
            results["replay"] = (replays[0]["accepted"], replays[0]["reason"])
        finally:
            connection.close()
            updates.close()
            broker.close()
            done.set()

    def hold(epoch: int, batch: int) -> None:
        if (epoch, batch) == (1, 2):
            reached.set()
            done.wait(90)

    attacker = threading.Thread(target=attack, daemon=True)
    attacker.start()
    history = tiny_model().fit(
        x, y, epochs=4, batch_size=16, callbacks=[tracker, pace_callback(hold)], verbose=0
    )
    attacker.join(10)

    assert results["stop_after_forgeries"] is None  # nothing changed in the training
    for name, (accepted, reason, expected) in results["forged"].items():
        assert (name, accepted, reason) == (name, False, expected)
    assert results["good"][1] is True
    assert results["replay"] == (False, auth.REPLAYED)
    # Only the owner's stop-after-epoch acted: epoch 1 finished, then the training stopped.
    assert history.epoch == [0, 1]
    (t,) = trainings(model_key)
    assert t.status == "stopped"
    assert (t.stop["command_id"], t.stop["kind"], t.stop["sender"]) == (
        results["good"][0],
        STOP_AFTER_EPOCH,
        "owner",
    )
