"""`dltrack lr | pause | resume | checkpoint | rules | stop --save | show` against a real Keras
training in another process, each CLI call a process of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import run_cli, trainings, wait_until
from tests.test_control import Child

pytestmark = pytest.mark.slow


def test_steering_from_the_command_line(model_key: str, tmp_path: Path) -> None:
    child = Child(model_key, tmp_path)
    try:
        wait_until(lambda: trainings(model_key), 60, "the training to start")
        result = run_cli("lr", model_key, "x0.5", "--training", "1")
        assert result.returncode == 0, result.stderr
        assert "learning rate 0.01 → 0.005" in result.stdout
        wait_until(
            lambda: child.batches() and abs(child.batches()[-1]["lr"] - 0.005) < 1e-9, 30, "lr"
        )

        result = run_cli("pause", model_key)
        assert result.returncode == 0, result.stderr
        assert re.fullmatch(r"paused at epoch \d+, step \d+\n", result.stdout), result.stdout
        result = run_cli("resume", model_key)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("after ")

        result = run_cli(
            "rules",
            "add",
            model_key,
            "--when",
            "above",
            "--metric",
            "loss",
            "--value",
            "1e9",
            "--action",
            "notify",
            "--id",
            "huge",
        )
        assert result.returncode == 0, result.stderr
        result = run_cli("rules", "list", model_key)
        assert "huge: when loss >= 1e+09 → notify" in result.stdout, result.stdout
        assert run_cli("rules", "remove", model_key, "--id", "huge").returncode == 0

        result = run_cli("checkpoint", model_key)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("saved ") and ".keras" in result.stdout

        # A bad value: one line, exit 2 (usage), nothing sent.
        result = run_cli("lr", model_key, "x0")
        assert result.returncode == 2 and "factor above 0" in result.stderr

        result = run_cli("stop", model_key, "--save")
        assert result.returncode == 0, result.stderr
        assert "stopped by" in result.stdout or "saved " in result.stdout
        assert child.finish()[0] == 0
    finally:
        child.kill()
    assert trainings(model_key)[0].status == "stopped"
    shown = run_cli("trainings", "show", model_key, "1").stdout
    for line in (
        "set_lr: learning rate 0.01 → 0.005",
        "pause: paused at epoch",
        "resume:",
        "add_rule:",
        "remove_rule:",
        "checkpoint: saved",
        "save_and_stop: saved",
        "end: stopped by",
    ):
        assert line in shown, shown
