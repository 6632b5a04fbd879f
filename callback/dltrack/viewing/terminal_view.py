"""`dltrack watch`: bars in a terminal, fed by Watcher snapshots.

One renderer owns the screen: a rich `Live` display holds one bar per running training at the
bottom, and every lasting line (a finished epoch, an ended training, a command's answer) is
printed through the same console, which puts it above the bars. Nothing else writes to the
terminal while the view is open (Live also routes stray prints of this process above the
bars), so no write can land in the middle of a redrawn line. Lines are cut at the terminal's
width, never wrapped; colour follows the terminal (rich honours NO_COLOR and TERM=dumb).
Piped output gets the lasting lines alone, uncut and without colour.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any, TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from dltrack.viewing import terminal_format as fmt
from dltrack.viewing.steering import event_text
from dltrack.wire.records import LIVE_STATUSES

STATUS_STYLES = {
    "running": "cyan",
    "completed": "green",
    "stopped": "yellow",
    "failed": "bold red",
    "lost": "magenta",
    "interrupted": "magenta",
}


def styled(line: str) -> Text:
    """`line` with colour on the parts worth finding at a glance; the text itself unchanged."""
    text = Text(line, no_wrap=True, overflow="ellipsis")
    text.highlight_regex(r"█+", "green")
    text.highlight_regex(r"░+", "bright_black")
    text.highlight_regex(r"^ *#[0-9?]+", "bold")
    for word, style in STATUS_STYLES.items():
        text.highlight_regex(rf"\b{word}\b", style)
    return text


class TerminalView:
    """Thread-safe: `update` runs on the Watcher's thread, `close` on the main one. After
    `close` nothing more is drawn, so a question asked on the terminal stays intact."""

    def __init__(self, out: TextIO | None = None, live: bool | None = None) -> None:
        self.console = Console(
            file=out or sys.stdout,
            force_terminal=live,
            force_interactive=live,
            highlight=False,
            emoji=False,
            markup=False,
        )
        self.live = self.console.is_terminal
        self._lock = threading.Lock()
        self._display: Live | None = None
        self._closed = False
        self._printed_epochs: set[tuple[str, int]] = set()
        self._statuses: dict[str, str] = {}
        self._commands: dict[str, str] = {}
        self._events: set[str] = set()
        self._started = False
        self._store_line: str | None = None  # what the store's trouble line says, if any

    def _bar_width(self) -> int:
        return fmt.bar_width(self.console.width) if self.live else fmt.BAR_WIDTH

    def _print(self, line: str) -> None:
        if self.live:
            self.console.print(styled(line), no_wrap=True, overflow="ellipsis", crop=True)
        else:
            self.console.print(line, soft_wrap=True)  # a file keeps whole lines

    def update(self, snap: dict[str, Any]) -> None:
        with self._lock:
            if self._closed:
                return
            now = snap["now"]
            if not self._started:
                self._started = True
                self._header(snap)
            for training in reversed(snap["trainings"]):  # oldest first reads naturally
                self._training_events(training, now)
            for command in snap["commands"]:
                self._command_event(command)
            store = fmt.store_line(snap["connection"])
            if not self.live and (store is None) != (self._store_line is None):
                # A file or a pipe gets a lasting line as the store goes and comes back.
                self._print(store or f"store: back ({snap['connection']['store_status']})")
            self._store_line = store
            if self.live:
                running = [t for t in reversed(snap["trainings"]) if t["current"]]
                bars = [styled(fmt.progress_line(t, now, self._bar_width())) for t in running]
                if store is not None:  # below the bars while it lasts, gone once it is back
                    bars.append(Text(store, style="yellow", no_wrap=True, overflow="ellipsis"))
                if self._display is None:
                    self._display = Live(
                        Group(*bars),
                        console=self.console,
                        transient=True,  # the bars go when the view closes; lasting lines stay
                        refresh_per_second=4,
                    )
                    self._display.start(refresh=True)
                else:
                    self._display.update(Group(*bars), refresh=True)

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
                self._events.update(e["id"] for e in training.get("events") or [])

    def _training_events(self, training: dict[str, Any], now: float) -> None:
        tid = training["training_id"]
        status = training["status"]
        previous = self._statuses.get(tid)
        for record in training["epochs"]:
            if (tid, record["epoch"]) not in self._printed_epochs:
                self._printed_epochs.add((tid, record["epoch"]))
                self._print(fmt.epoch_line(training, record, self._bar_width()))
        for event in training.get("events") or []:
            if event["id"] not in self._events:
                self._events.add(event["id"])
                if event["kind"] == "rule" and event.get("ok", True):
                    self.console.bell()  # a rule's firing is a notification
                self._print(event_text(event))
        # A running training is shown by its bar; a lasting line only tells how one ended,
        # so no line above the bars goes stale.
        ended = status not in LIVE_STATUSES
        if ended and previous != status:
            self._print(fmt.training_summary(training, now))
        self._statuses[tid] = status

    def _command_event(self, command: dict[str, Any]) -> None:
        state = command["state"]
        if self._commands.get(command["id"]) == state or state == "sending":
            return
        self._commands[command["id"]] = state
        kind = command["kind"]
        what = "stop after this epoch" if kind == "stop_after_epoch" else kind.replace("_", " ")
        if state in ("done", "failed"):
            return  # told by the training's event, with its result
        texts = {
            "sent": f"{what} requested…",
            "acknowledged": f"{what} acknowledged by the training",
            "refused": f"{what} refused: {command['detail']}",
            "undelivered": f"{what} not delivered: {command['detail']}",
        }
        self._print(texts.get(state, f"{what}: {state}"))

    def close(self) -> None:
        """Stop drawing for good: the bars are erased, the lasting lines stay."""
        with self._lock:
            self._closed = True
            if self._display is not None:
                self._display.stop()
                self._display = None
            self.console.file.flush()


class JsonLinesView:
    """`dltrack watch --json`: every snapshot the viewer gets, one JSON object per line."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self._lock = threading.Lock()
        self._closed = False

    def update(self, snap: dict[str, Any]) -> None:
        with self._lock:  # whole lines, and none after close (a question may follow)
            if not self._closed:
                self.out.write(json.dumps(snap, separators=(",", ":")) + "\n")
                self.out.flush()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self.out.flush()
