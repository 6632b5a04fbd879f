"""`dltrack watch`: tqdm-style bars in a terminal, fed by Watcher snapshots.

Finished epochs and events are printed once, as lasting lines; the running epoch is one line
redrawn in place (only on a terminal; piped output gets the lasting lines alone).
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from dltrack.viewing import terminal_format as fmt
from dltrack.wire.records import LIVE_STATUSES


class TerminalView:
    def __init__(self, out: TextIO | None = None, live: bool | None = None) -> None:
        self.out = out or sys.stdout
        self.live = self.out.isatty() if live is None else live
        self._printed_epochs: set[tuple[str, int]] = set()
        self._statuses: dict[str, str] = {}
        self._commands: dict[str, str] = {}
        self._live_line = False
        self._started = False

    def _print(self, text: str) -> None:
        if self._live_line:
            self.out.write("\r\x1b[2K")
            self._live_line = False
        self.out.write(text + "\n")

    def update(self, snap: dict[str, Any]) -> None:
        now = snap["now"]
        if not self._started:
            self._started = True
            self._header(snap)
        for training in reversed(snap["trainings"]):  # oldest first reads naturally
            self._training_events(training, now)
        for command in snap["commands"]:
            self._command_event(command)
        running = [t for t in snap["trainings"] if t["current"]]
        if self.live and running:
            self.out.write("\r\x1b[2K" + fmt.progress_line(running[0], now))
            self._live_line = True
        self.out.flush()

    def _header(self, snap: dict[str, Any]) -> None:
        model = snap["model"] or {}
        conn = snap["connection"]
        self._print(f"{model.get('name', '?')}  ·  {conn['status']}  ·  {conn['broker']}")
        for training in reversed(snap["trainings"]):
            if training["status"] not in LIVE_STATUSES:
                self._print("  " + fmt.training_summary(training, snap["now"]))
                self._statuses[training["training_id"]] = training["status"]
                for record in training["epochs"]:
                    self._printed_epochs.add((training["training_id"], record["epoch"]))

    def _training_events(self, training: dict[str, Any], now: float) -> None:
        tid = training["training_id"]
        status = training["status"]
        previous = self._statuses.get(tid)
        if previous is None:
            self._print(f"#{training['number'] or '?'} {status} ({tid})")
        for record in training["epochs"]:
            if (tid, record["epoch"]) not in self._printed_epochs:
                self._printed_epochs.add((tid, record["epoch"]))
                self._print(fmt.epoch_line(training, record))
        if previous is not None and previous != status:
            self._print(fmt.training_summary(training, now))
        self._statuses[tid] = status

    def _command_event(self, command: dict[str, Any]) -> None:
        state = command["state"]
        if self._commands.get(command["id"]) == state or state == "sending":
            return
        self._commands[command["id"]] = state
        what = "stop after this epoch" if command["kind"] == "stop_after_epoch" else "stop"
        texts = {
            "sent": f"{what} requested…",
            "acknowledged": f"{what} acknowledged by the training",
            "refused": f"{what} refused: {command['detail']}",
            "undelivered": f"{what} not delivered: {command['detail']}",
        }
        self._print(texts.get(state, f"{what}: {state}"))

    def close(self) -> None:
        if self._live_line:
            self.out.write("\n")
            self._live_line = False
        self.out.flush()


class JsonLinesView:
    """`dltrack watch --json`: every snapshot the viewer gets, one JSON object per line."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    def update(self, snap: dict[str, Any]) -> None:
        self.out.write(json.dumps(snap, separators=(",", ":")) + "\n")
        self.out.flush()

    def close(self) -> None:
        self.out.flush()
