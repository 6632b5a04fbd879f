"""A real terminal for tests: a tmux pane of a chosen size running one command.

Each pane has a tmux server of its own (a private socket), so tests never touch a user's
tmux and the command gets the environment given here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from typing import Any

import pytest

from tests.helpers import ROOT, child_env, wait_until


def need_tmux() -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")


class Pane:
    def __init__(
        self,
        command: str,
        width: int = 80,
        height: int = 30,
        env: dict[str, str | None] | None = None,
    ) -> None:
        """`env`: variables to set, or with None to unset, for the command."""
        need_tmux()
        self.width, self.height = width, height
        self.socket = f"dltrack-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        environ = child_env()
        environ.pop("NO_COLOR", None)
        environ.pop("COLUMNS", None)
        environ.pop("LINES", None)
        for name, value in (env or {}).items():
            if value is None:
                environ.pop(name, None)
            else:
                environ[name] = value
        # The pane keeps its screen after the command ends, so the last words can be read.
        self._tmux(
            "new-session", "-d", "-x", str(width), "-y", str(height), "-c", str(ROOT),
            f"{command}; echo EXIT=$?; sleep 3600",
            env=environ,
        )  # fmt: skip

    def _tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            timeout=30,
        )
        return result.stdout

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "0", *keys)

    def screen(self, escapes: bool = False) -> list[str]:
        """The pane's lines, wrapped ones joined back (-J), so a line longer than the pane
        shows as one long line; trailing blank lines dropped."""
        text = self._tmux("capture-pane", "-p", "-J", *(["-e"] if escapes else []), "-t", "0")
        lines = text.split("\n")
        while lines and not lines[-1].strip():
            lines.pop()
        return lines

    def rang(self) -> bool:
        """Whether the command rang the terminal's bell (tmux flags the window, detached too)."""
        flag = self._tmux("display-message", "-p", "-t", "0", "#{window_bell_flag}")
        return flag.strip() == "1"

    def wait_for(self, predicate: Any, timeout: float, what: str) -> list[str]:
        """The screen once `predicate(lines)` holds."""

        def check() -> list[str] | None:
            lines = self.screen()
            return lines if predicate(lines) else None

        try:
            return wait_until(check, timeout, what, interval=0.2)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the screen:\n" + "\n".join(self.screen())) from None

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30)
