"""`dltrack watch` and `make demo` in a real pseudo-terminal (tmux), against real Keras
trainings in other processes: Ctrl+C, the question, the answers, and what the screen shows.

Every captured line must match one of the expected shapes below and fit the pane: a bar
redrawn over the question, two lines glued together or a wrapped line all fail.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers import DLTRACK, run_cli, start_training, trainings, wait_for_status
from tests.tmux_pane import Pane

pytestmark = pytest.mark.slow

QUESTION = "Stop training #1? [y/N] (N = detach, it goes on; Ctrl+C again = stop)"
NARROW_QUESTION = "Stop #1? [y/N] (N = detach; Ctrl+C = stop)"  # under 72 columns
BAR = r"[█░]+"
EPOCH = rf"#\d+ Epoch \d+/\d+ {BAR} \d+/\d+( \(partial\))? \[[\d:]+\]( .*)?"
PROGRESS = rf"#\d+ Epoch \d+/\d+ {BAR} \d+/\d+ \[[\d:]+<[\d:-]+, [\d.?]+(it/s|s/it)\]( .*)?"
LINES = [
    r".+  ·  \w+  ·  sqlite://\S+",  # the header: model, connection, broker
    EPOCH,
    PROGRESS,
    r" *#\d+ (completed|stopped|failed|lost|interrupted) +\d+/\S+ epochs .*",
    re.escape(QUESTION) + r"( y| n)?",
    re.escape(NARROW_QUESTION) + r"( y| n)?",
    r"stop acknowledged: the training stops after the current batch",
    r"stop acknowledged: the training stops after the current bat…",  # cut to 60 columns
    r"training #\d+ stopped at epoch \d+, step \d+",
    r"detached; the training goes on",
    r"EXIT=\d+",
    # `make demo`
    r"\.venv/bin/dltrack demo",
    r"demo model key: \S+",
    r"in a notebook too: %load_ext dltrack, then %dltrack \S+",
    r"the demo training goes on \(pid \d+\); stop it with",
    r"  dltrack stop \S+",
    r"make-exit=\d+",
]


def coloured(lines: list[str]) -> bool:
    """Whether any SGR sequence sets a foreground colour (30-38, 90-97); 39 is the default."""
    for params in re.findall(r"\x1b\[([0-9;]*)m", "\n".join(lines)):
        codes = [int(c) for c in params.split(";") if c]
        if any(30 <= c <= 38 or 90 <= c <= 97 for c in codes):
            return True
    return False


def assert_clean(lines: list[str], width: int) -> None:
    """No line wider than the pane, every line one of the expected shapes."""
    for line in lines:
        assert len(line) <= width, f"wider than {width}: {line!r}"
        text = line.rstrip()
        assert not text or any(re.fullmatch(p, text) for p in LINES), f"garbled: {text!r}"


def last_line(lines: list[str]) -> str:
    return lines[-1].rstrip() if lines else ""


def interrupt(pane: Pane, *answer: str) -> list[str]:
    """Ctrl+C once a bar is drawn; check the question stays intact; answer; the last screen."""
    question = QUESTION if pane.width > len(QUESTION) + 1 else NARROW_QUESTION
    pane.wait_for(
        lambda lines: any(re.fullmatch(PROGRESS, x.rstrip()) for x in lines), 120, "a bar"
    )
    pane.keys("C-c")
    asked = pane.wait_for(lambda lines: last_line(lines) == question, 30, "the question")
    assert_clean(asked, pane.width)
    # Several redraw intervals (4 a second) and heartbeats: nothing may draw over it.
    time.sleep(1.5)
    assert pane.screen() == asked
    assert not any(re.fullmatch(PROGRESS, x.rstrip()) for x in asked)  # the bar erased
    pane.keys(*answer)
    done = pane.wait_for(lambda lines: last_line(lines).startswith("EXIT="), 90, "the exit")
    assert_clean(done, pane.width)
    return done


@pytest.fixture
def panes() -> Iterator[list[Pane]]:
    opened: list[Pane] = []
    yield opened
    for pane in opened:
        pane.close()


@pytest.fixture
def training(model_key: str) -> Iterator[subprocess.Popen[str]]:
    child = start_training(model_key, epochs=300, step_delay=0.03)
    try:
        wait_for_status(model_key, 1, ("running",), 120)
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()


def watch(panes: list[Pane], key: str, width: int, **env: str | None) -> Pane:
    pane = Pane(f"{DLTRACK} watch {key}", width=width, env=env)
    panes.append(pane)
    return pane


def test_enter_and_n_detach_a_second_ctrl_c_stops(
    model_key: str, training: subprocess.Popen[str], panes: list[Pane]
) -> None:
    for answer in (("Enter",), ("n", "Enter")):
        done = interrupt(watch(panes, model_key, width=60), *answer)
        assert done[-2:] == ["detached; the training goes on", "EXIT=0"]
        assert training.poll() is None
        assert trainings(model_key)[0].status == "running"

    pane = watch(panes, model_key, width=60, NO_COLOR="1")
    pane.wait_for(lambda lines: len(lines) > 2, 60, "the first lines")
    assert not coloured(pane.screen(escapes=True))
    done = interrupt(pane, "C-c")
    assert last_line(done) == "EXIT=0"
    assert [x for x in done if x.startswith("stop acknowledged")] == [
        "stop acknowledged: the training stops after the current bat…"
    ]
    assert re.fullmatch(r"training #1 stopped at epoch \d+, step \d+", done[-2])
    assert training.wait(60) == 0
    t = wait_for_status(model_key, 1, ("stopped",), 10)
    assert "dltrack watch" in t.stop["sender"]


def test_y_stops_with_one_acknowledgement_in_colour(
    model_key: str, training: subprocess.Popen[str], panes: list[Pane]
) -> None:
    pane = watch(panes, model_key, width=100)
    pane.wait_for(lambda lines: any(re.fullmatch(EPOCH, x) for x in lines), 120, "an epoch")
    assert coloured(pane.screen(escapes=True))
    done = interrupt(pane, "y", "Enter")
    assert done.count(QUESTION + " y") == 1
    after = done[done.index(QUESTION + " y") + 1 :]
    assert after[0] == "stop acknowledged: the training stops after the current batch"
    assert re.fullmatch(r"training #1 stopped at epoch \d+, step \d+", after[1])
    assert after[2:] == ["EXIT=0"]
    assert training.wait(60) == 0
    assert wait_for_status(model_key, 1, ("stopped",), 10).stop["kind"] == "stop"


def demo_pid(lines: list[str]) -> int | None:
    for line in lines:
        found = re.fullmatch(r"the demo training goes on \(pid (\d+)\); stop it with", line)
        if found:
            return int(found.group(1))
    return None


def test_make_demo_from_a_non_interactive_shell(panes: list[Pane]) -> None:
    """`sh -c 'make demo'`: a Ctrl+C reaches the watcher alone, so neither the shell nor make
    dies under the question; after a detach make ends normally. (`-o setup`: the set-up
    step is `make demo`'s too, but installs nothing a test should.)"""
    # As typed in a terminal: not a sub-make of the `make test` that may be running this.
    outside_make = {"SHELL": "/bin/sh", "MAKELEVEL": None, "MAKEFLAGS": None, "MFLAGS": None}
    pane = Pane("sh -c 'make -o setup demo; echo make-exit=$?'", width=90, env=outside_make)
    panes.append(pane)
    key: Any = None
    pid = None
    try:
        done = interrupt(pane, "Enter")
        key = next(x.split(": ", 1)[1] for x in done if x.startswith("demo model key: "))
        assert done[-4:-1] == [
            f"the demo training goes on (pid {demo_pid(done)}); stop it with",
            f"  dltrack stop {key}",
            "make-exit=0",
        ]
        pid = demo_pid(done)
        assert trainings(key)[0].status == "running"
        stopped = run_cli("stop", key, "--wait", "--timeout", "60", timeout=120)
        assert stopped.returncode == 0, stopped.stderr
        assert trainings(key)[0].status == "stopped"
    finally:
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
