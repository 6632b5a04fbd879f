"""How `dltrack stop` reads the training's answer (cli/live.py), with a stand-in Watcher: the
states the command can be seen in when the wait ends, and the wait that ends with no answer."""

from __future__ import annotations

from typing import Any

import pytest

from dltrack.cli.live import _stop_and_report
from dltrack.wire.errors import ConfigError


class SeenAs:
    """A Watcher whose one command is seen in `state` (None: never answered)."""

    def __init__(self, state: str | None, detail: str = "") -> None:
        self.state, self.detail = state, detail
        self.waited: list[float] = []

    def stop_training(self, training_id: str | None, after_epoch: bool = False) -> str:
        return "c1"

    def wait_for(self, predicate: Any, timeout: float) -> dict[str, Any] | None:
        self.waited.append(timeout)
        commands = [{"id": "other", "state": "acknowledged", "detail": ""}]
        if self.state is not None:
            commands.insert(0, {"id": "c1", "state": self.state, "detail": self.detail})
        snap = {"commands": commands}
        return snap if predicate(snap) else None


def test_a_stop_seen_done_at_once_was_answered(capsys: pytest.CaptureFixture[str]) -> None:
    """The ack and the training's end can come in one read: the command is then first seen
    "done", never "acknowledged" (it waited its whole timeout and said "no answer")."""
    assert _stop_and_report(SeenAs("done"), None, False, False, 5) == 0  # type: ignore[arg-type]
    assert "stop acknowledged" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("state", "said"),
    [
        ("refused", "the training refused: not yours"),
        ("undelivered", "error: not yours"),
        ("failed", "the stop failed: not yours"),
    ],
)
def test_a_stop_turned_down_says_why(
    state: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _stop_and_report(SeenAs(state, "not yours"), None, False, False, 5) == 1  # type: ignore[arg-type]
    assert said in capsys.readouterr().err


def test_no_answer_says_what_to_do_after_the_timeout() -> None:
    """Another command's ack is not this one's answer."""
    watcher = SeenAs(None)
    with pytest.raises(ConfigError, match=r"no answer from the training within 7s.*try again"):
        _stop_and_report(watcher, None, False, False, 7)  # type: ignore[arg-type]
    assert watcher.waited == [7]
