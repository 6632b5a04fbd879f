"""`dltrack serve` in a child process, for the tests that open its page or its websocket."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from typing import Any

from tests.helpers import DLTRACK, ROOT, child_env

URL = re.compile(r"(http://\S+/)\?token=(\S+)")
START_TIMEOUT_S = 60.0


class ServeProcess:
    """`dltrack serve KEY… --port 0 [args]`; `.base` and `.token` once it printed its URL."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [str(DLTRACK), "serve", *args, "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
            cwd=ROOT,
        )
        self.lines: list[str] = []
        self.errors: list[str] = []
        self._found = threading.Event()
        self.base = ""
        self.token = ""
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()
        if not self._found.wait(START_TIMEOUT_S):
            self.stop()
            raise AssertionError(f"dltrack serve printed no URL: {self.output()}")

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            match = URL.search(line)
            if match and not self._found.is_set():
                self.base, self.token = match.group(1), match.group(2)
                self._found.set()
        self._found.set()

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        self.errors.extend(self.proc.stderr)

    @property
    def url(self) -> str:
        return f"{self.base}?token={self.token}"

    def ws_url(self, token: str | None = None) -> str:
        token = self.token if token is None else token
        return f"{self.base.replace('http://', 'ws://')}ws?token={token}"

    def output(self) -> str:
        return "".join(self.lines) + "".join(self.errors)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        time.sleep(0.1)  # let the readers drain

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
