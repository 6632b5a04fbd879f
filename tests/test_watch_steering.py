"""`dltrack watch` in a real terminal (tmux) while other `dltrack` processes steer a real Keras
training in a third: the learning rate on the bar and as an event, a rule's notification with
the bell, the pause on the bar ("paused since …") and its end."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import DLTRACK, run_cli, trainings, wait_until
from tests.test_control import Child
from tests.tmux_pane import Pane

pytestmark = pytest.mark.slow


@pytest.fixture
def pane(model_key: str) -> Iterator[Pane]:
    opened = Pane(f"{DLTRACK} watch {model_key}", width=140, height=40)
    yield opened
    opened.close()


def shows(pane: Pane, pattern: str, what: str) -> list[str]:
    return pane.wait_for(lambda lines: any(re.search(pattern, x) for x in lines), 90, what)


def test_watch_shows_the_rate_the_notification_and_the_pause(
    model_key: str, tmp_path: Path, pane: Pane
) -> None:
    child = Child(model_key, tmp_path, delay=0.05, epochs=500)
    try:
        wait_until(lambda: trainings(model_key), 60, "the training to start")
        shows(pane, r"#1 Epoch \d+/500 .*\] .* · lr 0\.01$", "the bar with the learning rate")

        assert run_cli("lr", model_key, "x0.5").returncode == 0
        shows(pane, r"^  · set_lr at epoch \d+: learning rate 0\.01 → 0\.005 \(by ", "the event")
        shows(pane, r"#1 Epoch .* · lr 0\.005$", "the new rate on the bar")

        assert not pane.rang()
        added = run_cli(
            "rules", "add", model_key, "--id", "cheap", "--when", "below",
            "--metric", "loss", "--value", "1e9", "--action", "notify",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        shows(pane, r"^  · rule at epoch \d+: cheap: when loss <= 1e\+09 → notify", "the firing")
        assert pane.rang(), "a notification rings the bell"

        assert run_cli("pause", model_key).returncode == 0
        shows(pane, r"^  · pause at epoch \d+: paused at epoch \d+, step \d+", "the pause event")
        shows(pane, r"#1 Epoch .*\] paused since \d\d:\d\d:\d\d \(\d\d:\d\d\) ", "the paused bar")
        assert run_cli("resume", model_key).returncode == 0
        screen = shows(pane, r"^  · resume at epoch \d+: ", "the resume event")
        stopped = run_cli("stop", model_key, "--timeout", "60", timeout=90)
        assert stopped.returncode == 0, stopped.stderr
        assert child.finish(60)[0] == 0
    finally:
        child.kill()
    # Each event told once, however many snapshots repeated it.
    assert sum("· set_lr at epoch" in line for line in screen) == 1
