"""Steering a real Keras fit() in another process: learning rate, pause/resume, checkpoint,
save-and-stop, refusals, events in the store and in a late viewer. On the embedded default and
on RabbitMQ + the Firestore emulator."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dltrack import Watcher
from dltrack.backends import open_store
from tests.helpers import ROOT, child_env, wait_until

CHILD = ROOT / "tests" / "control_child.py"
ANSWER_S = 60.0


@pytest.fixture(
    params=["embedded", pytest.param("servers", marks=[pytest.mark.amqp, pytest.mark.firestore])]
)
def backends(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The settings of one backend pair, in the environment (children inherit it)."""
    if request.param == "servers":
        monkeypatch.setenv("DLTRACK_BROKER_URL", str(request.getfixturevalue("amqp_url")))
        monkeypatch.setenv("DLTRACK_STORE_URL", str(request.getfixturevalue("firestore_url")))
    return {}


@pytest.fixture
def key(backends: dict[str, str]) -> str:
    from dltrack import create_model

    return create_model("steered").key


class Child:
    def __init__(self, key: str, tmp: Path, **options: Any) -> None:
        self.log = tmp / "batches.jsonl"
        options.setdefault("log", str(self.log))
        # Its output goes to a file, not a pipe nobody reads while it runs: a full pipe would
        # freeze the training at its next warning (a notify rule warns at every firing).
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in kill
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD), key, json.dumps(options)],
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            text=True,
            env=child_env(),
            cwd=tmp,
        )

    def batches(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        """Wait for the training to exit: (exit code, what it wrote to stderr)."""
        code = self.proc.wait(timeout=timeout)
        self._stderr.seek(0)
        return code, self._stderr.read()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._stderr.close()


@pytest.fixture
def watcher(key: str) -> Iterator[Watcher]:
    with Watcher(key) as w:
        yield w


def running(w: Watcher) -> dict[str, Any]:
    snap = w.wait_for(lambda s: any(t["status"] == "running" for t in s["trainings"]), ANSWER_S)
    assert snap is not None, "the training never showed up running"
    return next(t for t in snap["trainings"] if t["status"] == "running")


def outcome(w: Watcher, command_id: str, states: tuple[str, ...]) -> dict[str, Any]:
    def found(snap: dict[str, Any]) -> bool:
        return any(c["id"] == command_id and c["state"] in states for c in snap["commands"])

    snap = w.wait_for(found, ANSWER_S)
    assert snap is not None, f"command never reached {states}: {w.snapshot()['commands']}"
    return next(c for c in snap["commands"] if c["id"] == command_id)


def test_lr_pause_checkpoint_save_and_stop(watcher: Watcher, key: str, tmp_path: Path) -> None:
    import keras

    child = Child(key, tmp_path)
    try:
        tid = running(watcher)["training_id"]

        done = outcome(watcher, watcher.set_lr(0.0123), ("done",))
        done_at = time.time()
        assert done["result"]["new"] == pytest.approx(0.0123)
        assert done["result"]["old"] == pytest.approx(0.01)
        after = wait_until(
            lambda: [b for b in child.batches() if b["t"] > done_at][-3:], 30, "batches"
        )
        # What the optimizer holds inside the training, read by the training's own callback.
        assert after[-1]["lr"] == pytest.approx(0.0123)
        done = outcome(watcher, watcher.set_lr(factor=0.5), ("done",))
        assert done["result"]["new"] == pytest.approx(0.00615)

        outcome(watcher, watcher.pause(), ("done",))
        held = len(child.batches())
        snap = watcher.wait_for(
            lambda s: bool(s["trainings"][0]["paused_since"]) and s["trainings"][0]["current"],
            10,
        )
        assert snap is not None, "viewers were not told the training is paused"
        time.sleep(1.5)
        # At most the batch that was running when the pause arrived finishes.
        assert len(child.batches()) <= held + 1
        assert watcher.snapshot()["trainings"][0]["status"] == "running"  # heartbeats go on
        outcome(watcher, watcher.resume(), ("done",))
        wait_until(lambda: len(child.batches()) > held + 3, 30, "batches after resume")

        done = outcome(watcher, watcher.checkpoint(), ("done",))
        path = Path(done["result"]["path"])
        assert path.parent == tmp_path / "dltrack-checkpoints" / tid
        assert done["result"]["bytes"] == path.stat().st_size > 0
        assert keras.models.load_model(path).count_params() == 49

        stop = watcher.stop_training(save=True)
        outcome(watcher, stop, ("done",))
        code, err = child.finish()
        assert code == 0, err
    finally:
        child.kill()

    store = open_store(watcher.settings.store_url)
    try:
        training = store.get_training(key, tid)
        assert training is not None and training.status == "stopped"
        events = store.list_events(key, tid)
    finally:
        store.close()
    kinds = [e["kind"] for e in events]
    for kind in ("set_lr", "pause", "resume", "checkpoint", "save_and_stop", "end"):
        assert kind in kinds, kinds
    saved = next(e for e in events if e["kind"] == "save_and_stop")
    assert saved["ok"] and saved["sender"] == watcher.sender
    assert keras.models.load_model(saved["values"]["path"]).count_params() == 49
    lr_event = next(e for e in events if e["kind"] == "set_lr")
    assert lr_event["values"]["new"] == pytest.approx(0.0123) and lr_event["epoch"] is not None
    # The rate each epoch ran with is in its logs.
    epochs = watcher.snapshot()["trainings"][0]["epochs"]
    assert epochs[-1]["logs"]["lr"] == pytest.approx(0.00615)

    # A viewer that joins after the end sees the same events, from the store.
    with Watcher(key) as late:
        snap = late.wait_for(lambda s: len(s["trainings"][0]["events"]) >= len(events), 20)
        assert snap is not None
        assert [e["id"] for e in snap["trainings"][0]["events"]] == [e["id"] for e in events]


def test_bad_input_is_refused_and_the_training_goes_on(
    watcher: Watcher, key: str, tmp_path: Path
) -> None:
    child = Child(key, tmp_path, checkpoint_dir="/etc/passwd/not-a-dir")
    try:
        running(watcher)
        for args in ({"value": 0}, {"value": -1e-3}, {"factor": 0}, {"value": "fast"}, {}):
            refused = outcome(watcher, watcher.send("set_lr", None, args), ("refused",))
            assert "learning rate" in refused["detail"] or "factor" in refused["detail"]
        refused = outcome(watcher, watcher.checkpoint(), ("refused",))
        assert refused["detail"].startswith("cannot write checkpoints to /etc/passwd")
        refused = outcome(watcher, watcher.resume(), ("refused",))
        assert refused["detail"] == "the training is not paused"
        before = len(child.batches())
        wait_until(lambda: len(child.batches()) > before + 3, 30, "the training to go on")
        assert all(b["lr"] == pytest.approx(0.01) for b in child.batches())
        outcome(watcher, watcher.stop_training(), ("done",))
        assert child.finish()[0] == 0
    finally:
        child.kill()


@pytest.mark.parametrize("backends", ["embedded"], indirect=True)
def test_schedule_and_unsaveable_model(watcher: Watcher, key: str, tmp_path: Path) -> None:
    child = Child(key, tmp_path, schedule=True, unsaveable=True)
    try:
        running(watcher)
        refused = outcome(watcher, watcher.set_lr(0.1), ("refused",))
        assert "ExponentialDecay schedule" in refused["detail"]
        assert "compile with a plain number" in refused["detail"]
        failed = outcome(watcher, watcher.checkpoint(), ("failed",))
        assert failed["detail"].startswith("TypeError: "), failed["detail"]
        assert not list((tmp_path / "dltrack-checkpoints").rglob("*.keras"))
        before = len(child.batches())
        wait_until(lambda: len(child.batches()) > before + 3, 30, "the training to go on")
        outcome(watcher, watcher.stop_training(), ("done",))
        assert child.finish()[0] == 0
    finally:
        child.kill()


@pytest.mark.parametrize("backends", ["embedded"], indirect=True)
def test_a_pause_ends_by_itself_after_the_limit(watcher: Watcher, key: str, tmp_path: Path) -> None:
    child = Child(key, tmp_path, pause_timeout=1.0)
    try:
        running(watcher)
        outcome(watcher, watcher.pause(), ("done",))

        def resumed(snap: dict[str, Any]) -> bool:
            events = snap["trainings"][0]["events"]
            return any(e["kind"] == "resume" and "limit" in (e["detail"] or "") for e in events)

        assert watcher.wait_for(resumed, 30) is not None
        before = len(child.batches())
        wait_until(lambda: len(child.batches()) > before + 3, 30, "the training to go on")
        outcome(watcher, watcher.stop_training(), ("done",))
        assert child.finish()[0] == 0
    finally:
        child.kill()
