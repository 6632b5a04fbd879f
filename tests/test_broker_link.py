"""The training's broker thread against hostile and stale commands, in a real training."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from typing import Any

import pytest

from dltrack import Tracker, Watcher
from dltrack.backends import open_broker
from dltrack.wire import config
from dltrack.wire.keys import model_id, new_model_key, new_training_id
from dltrack.wire.protocol import ALL_TRAININGS, STOP, STOP_AFTER_EPOCH, Command, parse_update
from tests.helpers import pace_callback, tiny_data, tiny_model, trainings, wait_until

pytestmark = pytest.mark.slow


def inject(model_key: str, target: str, body: bytes) -> None:
    """Put a raw row on the embedded broker's command channel, as any process could."""
    path = config.sqlite_path(config.resolve().broker_url)
    conn = sqlite3.connect(path, timeout=15)
    try:
        conn.execute(
            "INSERT INTO commands (model_id, target, ts, body) VALUES (?, ?, ?, ?)",
            (model_id(model_key), target, time.time(), body),
        )
        conn.commit()
    finally:
        conn.close()


def test_hostile_stale_and_duplicate_commands_are_ignored(model_key: str) -> None:
    x, y = tiny_data(160)
    tracker = Tracker(model_key)
    reached, done = threading.Event(), threading.Event()
    results: dict[str, Any] = {}
    broker = open_broker(config.resolve().broker_url)
    updates = broker.subscribe_updates(model_key)

    def attack() -> None:
        try:
            if not reached.wait(60):
                return
            tid = tracker.training_id
            assert tid is not None
            valid = Command.new(STOP, model_key, tid, "x").to_message()
            results["valid"] = valid["id"]
            hostile = [
                b"",
                b"{",
                b"\xff\xfe",
                b"[]",
                b"null",
                json.dumps({**valid, "kind": ["stop"]}).encode(),  # unhashable kind
                json.dumps({**valid, "target": {"all": True}}).encode(),
                json.dumps({**valid, "v": 99}).encode(),
                json.dumps({**valid, "ts": "now"}).encode(),
                json.dumps({**valid, "id": "../../etc"}).encode(),
                json.dumps({**valid, "model_id": model_id(new_model_key())}).encode(),  # not ours
                json.dumps({**valid, "target": new_training_id()}).encode(),  # another training
                json.dumps({**valid, "ts": time.time() - 3600}).encode(),  # a replay of an old stop
                b"x" * 300_000,  # oversized
            ]
            for body in hostile:
                inject(model_key, tid, body)
            with Watcher(model_key, sender="tester") as watcher:
                first = watcher.stop_training(tid, after_epoch=True)
                results["first"] = watcher.wait_for(
                    lambda s: any(
                        c["id"] == first and c["state"] == "acknowledged" for c in s["commands"]
                    ),
                    20,
                )
                # The same id again, altered: refused (its signature no longer matches). A new
                # one after it is answered, so when its ack comes the duplicate was dealt with.
                inject(
                    model_key,
                    tid,
                    json.dumps(
                        {**valid, "id": first, "kind": STOP_AFTER_EPOCH, "sender": "tester"}
                    ).encode(),
                )
                second = watcher.stop_training(tid)
                results["second"] = watcher.wait_for(
                    lambda s: any(
                        c["id"] == second and c["state"] == "acknowledged" for c in s["commands"]
                    ),
                    20,
                )
                results["ids"] = (first, second)
        finally:
            done.set()

    def hold(epoch: int, batch: int) -> None:
        if (epoch, batch) == (1, 3):
            reached.set()
            done.wait(60)

    attacker = threading.Thread(target=attack, daemon=True)
    attacker.start()
    history = tiny_model().fit(
        x, y, epochs=20, batch_size=16, callbacks=[tracker, pace_callback(hold)], verbose=0
    )
    attacker.join(10)
    assert results.get("first") is not None
    assert results.get("second") is not None
    # The plain stop upgraded the stop-after-epoch: the training stopped after one more batch.
    assert history.epoch == [0, 1]
    (t,) = trainings(model_key)
    assert t.status == "stopped"
    assert (t.stop["kind"], t.stop["epoch"], t.stop["step"]) == (STOP, 1, 5)
    assert t.stop["command_id"] == results["ids"][1]

    acks = []
    raws: list[bytes] = []
    while batch := updates.poll(0.2):  # the training is over: everything is there
        raws.extend(batch)
    for raw in raws:
        message = parse_update(raw)
        if message is not None and message["type"] == "ack":
            acks.append((message["command_id"], message["accepted"]))
    updates.close()
    broker.close()
    first, second = results["ids"]
    # One ack each; the altered old stop and the altered duplicate are refused (their
    # signatures no longer match); nothing for the rest (malformed, or for another model or
    # training).
    assert acks == [(results["valid"], False), (first, True), (first, False), (second, True)]


def test_a_command_for_all_trainings_reaches_a_running_one(model_key: str) -> None:
    x, y = tiny_data(160)
    tracker = Tracker(model_key)
    reached, done = threading.Event(), threading.Event()

    def send() -> None:
        try:
            if reached.wait(60):
                inject(
                    model_key,
                    ALL_TRAININGS,
                    json.dumps(
                        Command.new(STOP, model_key, None, "raw sender").to_message()
                    ).encode(),
                )
                wait_until(
                    lambda: (
                        tracker._session is not None and tracker._session.stop_request is not None
                    ),
                    20,
                    "the command to arrive",
                )
        finally:
            done.set()

    def hold(epoch: int, batch: int) -> None:
        if (epoch, batch) == (0, 2):
            reached.set()
            done.wait(60)

    threading.Thread(target=send, daemon=True).start()
    history = tiny_model().fit(
        x, y, epochs=20, batch_size=16, callbacks=[tracker, pace_callback(hold)], verbose=0
    )
    assert history.epoch == [0]
    (t,) = trainings(model_key)
    assert (t.status, t.stop["sender"], t.stop["step"]) == ("stopped", "raw sender", 4)


def test_a_stop_after_the_end_reaches_nobody_and_says_so(model_key: str) -> None:
    x, y = tiny_data(32)
    tracker = Tracker(model_key)
    tiny_model().fit(x, y, epochs=1, batch_size=16, callbacks=[tracker], verbose=0)
    # After fit() the training no longer listens: the broker says nobody is there.
    with Watcher(model_key) as watcher:
        command_id = watcher.stop_training(tracker.training_id)
        snap = watcher.wait_for(
            lambda s: any(c["id"] == command_id and c["state"] != "sending" for c in s["commands"]),
            10,
        )
    assert snap is not None
    assert snap["commands"][0]["state"] == "undelivered"


def test_viewers_learn_the_training_number_before_a_short_training_ends(
    model_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A training shorter than the heartbeat interval: the number the store assigns still
    reaches the live feed before train_end (the first heartbeat, at connect, predates it)."""
    from dltrack.training import broker_link

    # No periodic heartbeat during the test: only the one at connect, and the announcement.
    monkeypatch.setattr(broker_link, "HEARTBEAT_INTERVAL_S", 3600.0)
    x, y = tiny_data(48)
    broker = open_broker(config.resolve().broker_url)
    updates = broker.subscribe_updates(model_key)
    try:
        tracker = Tracker(model_key)
        tiny_model().fit(
            x,
            y,
            epochs=1,
            batch_size=16,
            verbose=0,
            callbacks=[tracker, pace_callback(lambda epoch, batch: time.sleep(0.05))],
        )
        seen: list[dict[str, Any]] = []

        def until_train_end() -> bool:
            seen.extend(m for raw in updates.poll(0.1) if (m := parse_update(raw)) is not None)
            return any(m["type"] == "train_end" for m in seen)

        wait_until(until_train_end, 10, "the end of the training on the feed")
    finally:
        updates.close()
        broker.close()
    (t,) = trainings(model_key)
    before_end = seen[: [m["type"] for m in seen].index("train_end")]
    numbers = [m["snapshot"]["number"] for m in before_end if m["type"] == "heartbeat"]
    assert t.number in numbers, numbers
