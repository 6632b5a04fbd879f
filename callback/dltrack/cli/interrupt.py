"""What Ctrl+C does in `dltrack watch` and `dltrack demo`: the drawing stops, one question is
asked, and the answer is said in one line.

y stops the training, n or Enter detaches (the training goes on), a second Ctrl+C while
asking stops it: pressed twice, Ctrl+C means "stop", as it does for the training itself.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
from collections.abc import Iterator

try:
    import termios
except ImportError:  # Windows: no terminal flags to change
    termios = None  # type: ignore[assignment]


@contextlib.contextmanager
def quiet_terminal() -> Iterator[None]:
    """Keep the terminal from echoing `^C` at the cursor, which sits at the end of the last
    bar: those two characters would push a full-width bar onto a second line."""
    fd = sys.stdin.fileno() if sys.stdin is not None and sys.stdin.isatty() else None
    # In the background (`dltrack watch KEY &`) changing the terminal would stop the process.
    if termios is None or fd is None or os.tcgetpgrp(fd) != os.getpgrp():
        yield
        return
    saved = termios.tcgetattr(fd)
    quiet = list(saved)
    quiet[3] &= ~termios.ECHOCTL
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)


@contextlib.contextmanager
def own_foreground() -> Iterator[None]:
    """Take the terminal's Ctrl+C for this process alone while it watches.

    A terminal sends Ctrl+C to its whole foreground process group. Started by a shell, this
    process leads that group alone; started by `make` or `sh -c`, it shares the group with
    them, and they die of the interrupt (a non-interactive shell at once, make once this
    process exits) while the question is still on the screen. So, as a job-control shell
    does for a job, it moves into a group of its own, makes that the foreground one, and
    hands the terminal back on the way out. Only when it draws on the terminal it reads from:
    piped (`--json | …`, a test harness), it leaves the process groups alone."""
    fd = sys.stdin.fileno() if sys.stdin is not None and sys.stdin.isatty() else None
    if termios is None or fd is None or not sys.stdout.isatty() or os.getpgrp() == os.getpid():
        yield
        return
    try:
        before = os.tcgetpgrp(fd)
        if before != os.getpgrp():  # in the background: the terminal is not ours to take
            yield
            return
        os.setpgid(0, 0)
        _set_foreground(fd, os.getpgrp())
    except OSError:
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            _set_foreground(fd, before)


def _set_foreground(fd: int, group: int) -> None:
    # tcsetpgrp from a group that is no longer the foreground one raises SIGTTOU, which would
    # stop this process: it is ignored for the call, as shells do.
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        os.tcsetpgrp(fd, group)
    finally:
        signal.signal(signal.SIGTTOU, previous)


def question(numbers: list[int | None]) -> str:
    """The question, as long as the terminal is wide."""
    shown = ", ".join(f"#{n or '?'}" for n in numbers)
    which = f"training {shown}" if len(numbers) == 1 else f"trainings {shown}"
    long = f"Stop {which}? [y/N] (N = detach, it goes on; Ctrl+C again = stop) "
    short = f"Stop {shown}? [y/N] (N = detach; Ctrl+C = stop) "
    return long if len(long) < shutil.get_terminal_size().columns else short


def ask_stop(numbers: list[int | None]) -> bool:
    """True when the user wants the training(s) stopped. Without a terminal to ask on (stdin
    a file or /dev/null) nobody can answer: the watcher detaches."""
    if sys.stdin is None or not sys.stdin.isatty():
        return False
    try:
        answer = input(question(numbers))
    except KeyboardInterrupt:
        print()  # the cursor is still after the question
        return True
    except EOFError:  # Ctrl+D: as Enter
        print()
        return False
    return answer.strip().lower() in ("y", "yes")


def say(line: str, err: bool = False) -> None:
    """Print one line; on a terminal cut to its width, as the view's lines are, never
    wrapped (a wrapped line is what a later redraw garbles)."""
    stream = sys.stderr if err else sys.stdout
    if stream.isatty():
        width = shutil.get_terminal_size().columns
        if len(line) > width:
            line = line[: width - 1] + "…"
    print(line, file=stream, flush=True)


def notice(line: str) -> None:
    say(line, err=True)
