"""`dltrack watch` tells pauses, learning-rate changes and rule firings (with a bell), once."""

from __future__ import annotations

import io
from typing import Any

from dltrack.viewing.terminal_view import TerminalView

T0 = 1_000_000.0


def snap(
    events: list[dict[str, Any]], commands: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    training = {
        "training_id": "a" * 16,
        "number": 1,
        "status": "running",
        "epochs": [],
        "current": None,
        "events": events,
    }
    return {
        "model": {"name": "m"},
        "connection": {"status": "live", "broker": "b"},
        "now": T0,
        "trainings": [training],
        "commands": commands or [],
    }


def event(kind: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"{kind:0>16}"[:16],
        "kind": kind,
        "at": T0,
        "ok": True,
        "detail": detail,
        "epoch": 2,
        **extra,
    }


def test_events_are_printed_once_and_rules_ring() -> None:
    out = io.StringIO()
    view = TerminalView(out=out, live=False)
    bells: list[bool] = []
    view.console.bell = lambda: bells.append(True)  # type: ignore[method-assign]
    view.update(snap([]))
    pause = event("pause", "", sender="bo@box (dltrack pause)")
    lr = event("set_lr", "learning rate 0.01 → 0.001")
    view.update(snap([pause, lr]))
    view.update(snap([pause, lr, event("rule", "r: when loss <= 0.1 → notify: loss = 0.09")]))
    view.update(snap([pause, lr]))
    text = out.getvalue()
    assert "  · pause at epoch 3:  (by bo@box (dltrack pause))" in text
    assert "  · set_lr at epoch 3: learning rate 0.01 → 0.001" in text
    assert "  · rule at epoch 3: r: when loss <= 0.1 → notify" in text
    assert bells == [True]  # rich rings it on a terminal only
    assert text.count("set_lr at epoch") == 1


def test_another_viewers_command_is_named_by_its_kind() -> None:
    out = io.StringIO()
    view = TerminalView(out=out, live=False)
    command = {
        "id": "c" * 16,
        "kind": "set_lr",
        "state": "acknowledged",
        "detail": "",
        "sent_at": T0,
    }
    view.update(snap([], [command]))
    assert "set lr acknowledged by the training" in out.getvalue()
