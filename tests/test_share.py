"""`dltrack share KEY --read-only`: watch a real training without being able to control it."""

from __future__ import annotations

import json
import threading

import pytest

from dltrack import Tracker, Watcher
from dltrack.wire.errors import ConfigError
from dltrack.wire.keys import model_id, viewing_token
from tests.helpers import pace_callback, run_cli, tiny_data, tiny_model, trainings

pytestmark = pytest.mark.slow


def test_a_read_only_share_watches_and_cannot_control(model_key: str) -> None:
    from dltrack_widget import TrainingMonitor

    result = run_cli("share", model_key, "--read-only")
    assert result.returncode == 0, result.stderr
    share = result.stdout.splitlines()[-1]
    assert share == f"{model_id(model_key)}.{viewing_token(model_key)}"
    assert model_key not in result.stdout

    x, y = tiny_data(96)
    reached, done = threading.Event(), threading.Event()
    seen: dict[str, object] = {}
    refused: list[str] = []

    def viewer() -> None:
        try:
            reached.wait(60)
            monitor = TrainingMonitor(share)
            try:
                seen["widget"] = (monitor.public_id, monitor.can_control)
                seen["widget state"] = json.dumps(monitor.get_state())
            finally:
                monitor.close()
            with Watcher(share) as watcher:
                snap = watcher.wait_for(
                    lambda s: bool(s["trainings"]) and s["trainings"][0]["current"] is not None, 20
                )
                seen["live"] = snap is not None
                seen["can_control"] = watcher.can_control
                for action in (
                    watcher.stop_training,
                    watcher.delete_model,
                    lambda: watcher.rename_model("mine now"),
                    lambda: watcher.set_lr(1e-4),
                    watcher.pause,
                    watcher.checkpoint,
                    lambda: watcher.add_rule({"when": "nan", "action": "stop"}),
                    lambda: watcher.stop_training(save=True),
                ):
                    try:
                        action()
                    except ConfigError as exc:
                        refused.append(str(exc))
        finally:
            done.set()

    def hold(epoch: int, batch: int) -> None:
        if (epoch, batch) == (0, 2):
            reached.set()
            done.wait(60)

    threading.Thread(target=viewer, daemon=True).start()
    history = tiny_model().fit(
        x,
        y,
        epochs=2,
        batch_size=16,
        callbacks=[Tracker(model_key), pace_callback(hold)],
        verbose=0,
    )
    assert seen["widget"] == (model_id(model_key), False)
    assert model_key not in str(seen["widget state"])
    assert seen["live"] is True and seen["can_control"] is False
    assert len(refused) == 8 and all("read-only share" in text for text in refused)
    # Nothing was stopped, renamed or deleted.
    assert history.epoch == [0, 1]
    (t,) = trainings(model_key)
    assert t.status == "completed"


def test_share_without_read_only_says_what_to_do(model_key: str) -> None:
    result = run_cli("share", model_key)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--read-only" in result.stderr
    assert result.stdout == ""
