"""Split a Watcher snapshot into what changes often and what rarely does.

A synced trait is sent whole on every change. The epochs of finished trainings never change,
and with 50 trainings of 1000 epochs they would be megabytes sent ten times a second; so they
travel in a separate `history` trait, re-sent only when a training finishes or is deleted,
while `state` keeps the running trainings' epochs and everything else.
"""

from __future__ import annotations

from typing import Any

from dltrack.wire.records import LIVE_STATUSES

LIVE = LIVE_STATUSES


def split_snapshot(snapshot: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """(state, history): `history` maps training id → epochs for finished trainings, whose
    `epochs` in `state` become None."""
    history: dict[str, list[Any]] = {}
    trainings = []
    for training in snapshot["trainings"]:
        if training["status"] in LIVE:
            trainings.append(training)
        else:
            history[training["training_id"]] = training["epochs"]
            trainings.append({**training, "epochs": None})
    return {**snapshot, "trainings": trainings}, history


def history_signature(history: dict[str, list[Any]]) -> tuple[tuple[str, int], ...]:
    """Changes exactly when `history` needs re-sending (epochs of a finished training are
    fixed, so their count identifies them)."""
    return tuple(sorted((tid, len(epochs)) for tid, epochs in history.items()))
