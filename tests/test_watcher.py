"""The Watcher against real trainings in this process, on the embedded backend."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from dltrack import Tracker, Watcher
from dltrack.viewing.watcher import ListenerRate
from dltrack.wire.errors import ConfigError, UnknownModelError
from dltrack.wire.keys import model_id, new_model_key, new_training_id
from tests.helpers import local_store, pace_callback, tiny_data, tiny_model, trainings


def training_view(snap: dict[str, Any], training_id: str | None) -> dict[str, Any] | None:
    return next((t for t in snap["trainings"] if t["training_id"] == training_id), None)


def test_unknown_key_is_refused_at_start() -> None:
    with pytest.raises(UnknownModelError, match="dltrack models create"):
        Watcher(new_model_key()).start()


@pytest.mark.parametrize("key", ["", "bad key", "a.b.c.d.e.f.g.h.i.j.k.l.m"])
def test_malformed_key_is_refused_at_once(key: str) -> None:
    with pytest.raises(ConfigError, match="not a model key"):
        Watcher(key)


def test_malformed_urls_are_refused_without_showing_secrets(model_key: str) -> None:
    with pytest.raises(ConfigError, match="store URL") as error:
        Watcher(model_key, store="amqp://user:hunter2@host/")
    assert "hunter2" not in str(error.value)
    with pytest.raises(ConfigError, match="broker URL") as error:
        Watcher(model_key, broker="amqp://user:hunter2@host:port/")
    assert "hunter2" not in str(error.value)


def test_history_and_names(model_key: str) -> None:
    with Watcher(model_key) as watcher:
        snap = watcher.snapshot()
        # The public id only: snapshots reach widget state and JSON output.
        assert snap["model"]["id"] == model_id(model_key) and "key" not in snap["model"]
        assert model_key not in repr(snap)
        assert snap["model"]["name"] == "test model"
        assert snap["trainings"] == []
        assert snap["connection"]["status"] == "live"
        assert snap["connection"]["store"].startswith("sqlite://")


def test_stop_with_nothing_running_is_undelivered(model_key: str) -> None:
    with Watcher(model_key) as watcher:
        command_id = watcher.stop_training()

        def answered(snap: dict[str, Any]) -> bool:
            return any(c["id"] == command_id and c["state"] != "sending" for c in snap["commands"])

        snap = watcher.wait_for(answered, 10)
        assert snap is not None
        (command,) = snap["commands"]
        assert command["state"] == "undelivered"
        assert command["detail"] == "no training of this key is running"
        with pytest.raises(ConfigError):
            watcher.stop_training("not-a-training-id")


@pytest.mark.slow
def test_a_viewer_sees_a_whole_training_live(model_key: str) -> None:
    snapshots: list[dict[str, Any]] = []
    x, y = tiny_data(160)
    with Watcher(model_key) as watcher:
        watcher.add_listener(snapshots.append)

        def broken(snap: dict[str, Any]) -> None:
            raise RuntimeError("a broken view")

        watcher.add_listener(broken)  # must not starve the others
        tracker = Tracker(model_key)
        history = tiny_model().fit(
            x, y, epochs=3, batch_size=16, callbacks=[tracker, pace_callback(delay=0.02)]
        )
        snap = watcher.wait_for(
            lambda s: (
                (t := training_view(s, tracker.training_id)) is not None
                and t["status"] == "completed"
                and t["number"] == 1
            ),
            15,
        )
        assert snap is not None
        count_at_end = len(snapshots)
        assert watcher.wait_for(lambda s: len(snapshots) > count_at_end, 5) is not None
    t = training_view(snapshots[-1], tracker.training_id)
    assert t is not None
    # The same logs as Keras' own history, plus the learning rate each epoch ran with.
    assert [e["logs"] for e in t["epochs"]] == [
        {**{k: v[i] for k, v in history.history.items()}, "lr": pytest.approx(0.01)}
        for i in range(3)
    ]
    # Live progress reached the listener: some snapshot showed a batch inside an epoch.
    currents = [
        c for s in snapshots if (v := training_view(s, tracker.training_id)) and (c := v["current"])
    ]
    assert any(0 < c["step"] < 10 for c in currents)
    assert all(c["steps"] == 10 for c in currents if c["step"])
    assert {c["epoch"] for c in currents} <= {0, 1, 2}


@pytest.mark.slow
def test_late_viewer_catches_up_from_heartbeats_alone(model_key: str) -> None:
    """A viewer that joins while a batch is running (no progress is being sent) shows the
    current epoch and step, and the finished epochs, within a couple of heartbeats."""
    x, y = tiny_data(160)
    holding, release = threading.Event(), threading.Event()
    seen: dict[str, Any] = {}
    tracker = Tracker(model_key)

    def at(epoch: int, step: int, tid: str | None) -> Any:
        def check(snap: dict[str, Any]) -> bool:
            t = training_view(snap, tid)
            return bool(
                t
                and t["current"]
                and (t["current"]["epoch"], t["current"]["step"]) == (epoch, step)
            )

        return check

    def viewers() -> None:
        try:
            if not holding.wait(60):
                return
            with Watcher(model_key) as early:
                # The one progress message for this step is out once an earlier viewer saw it…
                seen["early"] = early.wait_for(at(1, 5, tracker.training_id), 20)
            # …so a viewer subscribing now can only learn where the training is from a heartbeat.
            with Watcher(model_key) as late:
                seen["late"] = late.wait_for(at(1, 5, tracker.training_id), 5)
        finally:
            release.set()

    def hold(epoch: int, batch: int) -> None:
        if (epoch, batch) == (1, 4):
            holding.set()
            release.wait(60)

    thread = threading.Thread(target=viewers, daemon=True)
    thread.start()
    tiny_model().fit(x, y, epochs=2, batch_size=16, callbacks=[tracker, pace_callback(hold)])
    thread.join(10)
    assert seen.get("early") is not None
    late = seen.get("late")
    assert late is not None, "the late viewer never showed epoch 2, step 5"
    t = training_view(late, tracker.training_id)
    assert t is not None
    assert t["status"] == "running"
    assert t["number"] == 1
    assert t["current"]["steps"] == 10
    assert [e["epoch"] for e in t["epochs"]] == [0]


@pytest.mark.slow
def test_store_actions_through_the_watcher(model_key: str) -> None:
    x, y = tiny_data(32)
    for _ in range(2):
        tiny_model().fit(x, y, epochs=1, batch_size=16, callbacks=[Tracker(model_key)])
    first, second = trainings(model_key)
    with Watcher(model_key) as watcher:
        assert len(watcher.snapshot()["trainings"]) == 2
        watcher.delete_training(first.training_id)
        snap = watcher.wait_for(lambda s: len(s["trainings"]) == 1, 10)
        assert snap is not None
        assert snap["trainings"][0]["training_id"] == second.training_id
        watcher.rename_model("renamed")
        assert watcher.wait_for(lambda s: s["model"]["name"] == "renamed", 10) is not None
        with pytest.raises(ConfigError):
            watcher.delete_training(new_training_id()[:5])
        watcher.delete_model()
        snap = watcher.wait_for(lambda s: s["error"] is not None, 10)
        assert snap is not None
        assert "no model 'id_" in snap["error"]
    store = local_store()
    try:
        assert store.get_model(model_key) is None
        assert store.list_trainings(model_key) == []
    finally:
        store.close()


def test_listener_rate_lets_a_burst_through_then_caps_the_rate() -> None:
    limit = ListenerRate(10.0, burst=2.0, now=100.0)
    assert limit.take(100.0) and limit.take(100.0)  # a change that came a little early
    assert not limit.take(100.0)
    assert limit.wait(100.0) == pytest.approx(0.1)
    assert limit.wait(100.05) == pytest.approx(0.05)
    assert limit.take(100.1)
    # Asked every millisecond for ten seconds: ten calls a second, plus the burst once.
    calls = sum(limit.take(200.0 + ms / 1000) for ms in range(10_000))
    assert 10 * 10 <= calls <= 10 * 10 + 2


def test_listener_rate_passes_jittery_updates_on_at_once() -> None:
    """Updates ~100 ms apart, a few ms early or late: none waits (a strict 100 ms gap made
    every early one wait for the rest of the gap)."""
    limit = ListenerRate(10.0, now=0.0)
    arrivals = [0.1 * n + (0.004 if n % 2 else -0.004) for n in range(1, 200)]
    assert all(limit.wait(at) == 0 and limit.take(at) for at in arrivals)


@pytest.mark.parametrize("name", ["", "   ", "x" * 1000])
def test_a_name_that_cannot_be_a_model_name_is_refused(model_key: str, name: str) -> None:
    with Watcher(model_key) as watcher, pytest.raises(ConfigError, match="model name"):
        watcher.rename_model(name)


@pytest.mark.parametrize("rate", [0.0, -1.0, float("nan")])
def test_a_listener_rate_that_is_not_above_zero_is_refused(model_key: str, rate: float) -> None:
    with pytest.raises(ConfigError, match="max_rate"):
        Watcher(model_key, max_rate=rate)
