"""A training process SIGKILLed mid-epoch (docs/architecture.md, invariants 2 and 5).

What the user sees: every viewer shows the training `lost` within seconds of its last message;
a stop sent then is reported undelivered, never as if a training had received it; the epochs
it finished are in the store exactly once (what it had not written yet waits in the spool and
the next training writes it); and the store records it `interrupted` once another training of
the same model starts or ends while it has been silent for `INTERRUPTED_AFTER_S` (120 s).
Viewers never write that themselves (docs/reliability.md says why).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from dltrack import Tracker, Watcher, create_model
from dltrack.training import store_writer
from tests.helpers import ROOT, child_env, wait_until
from tests.reliability.support import drive, record_figure, stored_epochs, stored_training

pytestmark = pytest.mark.slow


def view(snap: dict[str, Any], training_id: str) -> dict[str, Any] | None:
    return next((t for t in snap["trainings"] if t["training_id"] == training_id), None)


def start_child(model_key: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.child_training", model_key],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
        cwd=ROOT,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("training_id="):
        proc.kill()
        raise AssertionError(f"the child did not start: {line!r} {proc.stderr.read()}")  # type: ignore[union-attr]
    return proc, line.strip().split("=", 1)[1]


REMOTE = pytest.param("amqp+firestore", marks=[pytest.mark.amqp, pytest.mark.firestore])


@pytest.fixture(params=[REMOTE, "local"])
def backends(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Where the killed training and its viewer meet (set in the environment for the child)."""
    if request.param == "local":
        return request.param
    amqp_url = request.getfixturevalue("amqp_url")
    firestore_url = request.getfixturevalue("firestore_url")
    monkeypatch.setenv("DLTRACK_BROKER_URL", amqp_url)
    monkeypatch.setenv("DLTRACK_STORE_URL", firestore_url)
    return request.param


def test_sigkill_mid_epoch(backends: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from dltrack.wire import config

    settings = config.resolve()
    key = create_model("killed mid-epoch").key
    with Watcher(key) as watcher:
        proc, training_id = start_child(key)
        try:

            def mid_epoch(snap: dict[str, Any]) -> bool:
                t = view(snap, training_id)
                current = t and t["current"]
                return bool(current and current["epoch"] >= 2 and 5 <= current["step"] <= 40)

            assert watcher.wait_for(mid_epoch, 60) is not None, watcher.snapshot()
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        killed = time.time()
        lost = watcher.wait_for(lambda s: (view(s, training_id) or {}).get("status") == "lost", 15)
        assert lost is not None, view(watcher.snapshot(), training_id)
        seen = view(lost, training_id)
        assert seen is not None
        shown_lost_after = time.time() - killed
        assert shown_lost_after <= 10.0

        # Nobody can receive a stop now; the sender must say so, not pretend it was delivered.
        command_id = watcher.stop_training(training_id)
        answered = watcher.wait_for(
            lambda s: any(c["id"] == command_id and c["state"] != "sending" for c in s["commands"]),
            10,
        )
        assert answered is not None
        (command,) = [c for c in answered["commands"] if c["id"] == command_id]
        assert command["state"] == "undelivered", command
        epochs_seen_live = {e["epoch"] for e in seen["epochs"]}

    dead = stored_training(settings.store_url, key, training_id)
    assert dead.status == "running"
    # The next training of the model records it interrupted, at its end: a training started
    # within the rule's 120 s of silence (here: before the rule is shortened) must not leave
    # the dead one `running` for good.
    monkeypatch.setattr(store_writer, "INTERRUPTED_AFTER_S", 10**6)
    nxt = Tracker(key)
    at_start: dict[str, str] = {}

    def shorten_the_rule_before_the_end(epoch: int, batch: int) -> None:
        if (epoch, batch) != (2, 0):
            return
        session = nxt._session
        assert session is not None
        wait_until(lambda: session.number is not None, 30, "the next training's start stored")
        at_start["status"] = stored_training(settings.store_url, key, training_id).status
        monkeypatch.setattr(store_writer, "INTERRUPTED_AFTER_S", 0.0)

    run = drive(nxt, epochs=3, steps=10, step_delay=0.1, on_batch=shorten_the_rule_before_the_end)
    assert len(run.history) == 3
    assert at_start == {"status": "running"}  # the start did not apply the rule…
    record = stored_training(settings.store_url, key, training_id)  # …the end did
    assert record.status == "interrupted", record
    assert record.reason == "no sign of life from the training"
    numbers = [e.epoch for e in stored_epochs(settings.store_url, key, training_id)]
    assert numbers == list(range(len(numbers)))  # each once, none missing before the last
    assert epochs_seen_live <= set(numbers)
    assert len(numbers) >= 2
    assert stored_training(settings.store_url, key, str(nxt.training_id)).status == "completed"
    record_figure(
        f"sigkill_{backends}",
        shown_lost_after_kill_s=shown_lost_after,
        epochs_recorded=len(numbers),
    )
