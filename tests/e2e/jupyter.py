"""A real Jupyter server (JupyterLab or Notebook 7) for the browser tests, and notebook files.

Each server runs from this virtual environment on 127.0.0.1, on a free port, behind a random
token, with a throw-away root directory and throw-away Jupyter config, data, runtime, settings
and workspace directories: nothing the developer has configured leaks in, nothing leaks out.
Each test gets its own kernelspec (`kernelspec()`): this venv's Python with the test's
DLTRACK_HOME in its environment, so the notebook's kernel and the test share one embedded store.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, BinaryIO

import nbformat
from ipykernel.kernelspec import get_kernel_dict

START_TIMEOUT_S = 120.0
DISPLAY_NAME = "Python 3 (dltrack e2e)"  # short: a long one overflows the notebook toolbar

# Settings every test server starts with (JupyterLab's user-settings format).
SETTINGS: dict[str, dict[str, Any]] = {
    # No "receive Jupyter news?" toast over the notebook, no update check over the network.
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    # Render every cell, even off screen, so a locator never waits on virtual scrolling.
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class JupyterServer:
    """`jupyter lab` or `jupyter notebook`, started in `base` and stopped by `stop()`."""

    def __init__(self, app: str, base: Path, log_path: Path) -> None:
        self.app = app  # "lab" or "notebook"
        self.base = base
        self.root = base / "root"
        self.kernels_dir = base / "data" / "kernels"
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log: BinaryIO | None = None
        self.process: subprocess.Popen[bytes] | None = None

    # -- life -------------------------------------------------------------------------------

    def start(self) -> JupyterServer:
        for sub in ("root", "data/kernels", "config", "runtime", "workspaces"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        self.reset_settings()
        settings_dir = self.base / "settings"
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(self.base / "config"),
            "JUPYTER_DATA_DIR": str(self.base / "data"),
            "JUPYTER_RUNTIME_DIR": str(self.base / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(settings_dir),
            "JUPYTERLAB_WORKSPACES_DIR": str(self.base / "workspaces"),
            "JUPYTER_PLATFORM_DIRS": "1",
        }
        jupyter = Path(sys.executable).with_name("jupyter")
        command = [
            str(jupyter),
            self.app,
            "--no-browser",
            "--ServerApp.open_browser=False",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            # Kernels this server starts use only the per-test kernelspecs below, plus the
            # venv's own `python3` (found through sys.prefix, first in Jupyter's path).
            "--KernelSpecManager.ensure_native_kernel=False",
            "--ServerApp.terminals_enabled=False",
        ]
        if os.geteuid() == 0:  # containers and CI runners often run as root
            command.append("--allow-root")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command,
            cwd=self.root,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"jupyter {self.app} exited with {self.process.returncode}; "
                    f"its log: {self.log_path}\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.api_url("api/status"), timeout=5) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"jupyter {self.app} not ready in {START_TIMEOUT_S:g}s: {self.log_path}")

    def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            # SIGINT twice is jupyter's "shut down now", which also shuts its kernels down.
            for _ in range(2):
                try:
                    os.killpg(process.pid, signal.SIGINT)
                except ProcessLookupError:
                    break
                time.sleep(0.2)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def reset_settings(self) -> None:
        """Back to the settings every test starts with (a test may switch the theme); the
        server reads them from disk on each page load."""
        settings_dir = self.base / "settings"
        shutil.rmtree(settings_dir, ignore_errors=True)
        for plugin, values in SETTINGS.items():
            path = settings_dir / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    # -- addresses ---------------------------------------------------------------------------

    def api_url(self, path: str) -> str:
        return f"{self.url}/{path}?token={self.token}"

    def notebook_url(self, relative: str, workspace: str) -> str:
        """The page that opens `relative` (a path under the root) in this server's app; in
        JupyterLab in its own `workspace`, so no tab of an earlier test is restored."""
        if self.app == "lab":
            return self.api_url(f"lab/workspaces/{workspace}/tree/{relative}")
        return self.api_url(f"notebooks/{relative}")

    # -- content -----------------------------------------------------------------------------

    def kernelspec(self, name: str, env: dict[str, str]) -> str:
        """A kernelspec running this venv's Python with `env` added; its name."""
        spec_dir = self.kernels_dir / name
        spec_dir.mkdir(parents=True, exist_ok=True)
        # What `python -m ipykernel install` writes (protocol version, features), pinned to
        # this interpreter.
        spec = get_kernel_dict()
        spec["argv"][0] = sys.executable
        spec.update(display_name=DISPLAY_NAME, env=env)
        (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
        return name

    def write_notebook(self, relative: str, cells: list[str], kernel_name: str) -> Path:
        """A notebook of code cells under the root, bound to `kernel_name`."""
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
        nb.metadata["kernelspec"] = {
            "name": kernel_name,
            "display_name": DISPLAY_NAME,
            "language": "python",
        }
        nb.metadata["language_info"] = {"name": "python"}
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        return path

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.api_url(path), timeout=10) as response:
            return json.loads(response.read())

    def running_kernels(self) -> list[dict[str, Any]]:
        return list(self.get("api/kernels"))

    def kernel_ready(self, relative: str) -> bool:
        """Whether the notebook `relative` has a kernel that is idle with a browser attached."""
        for session in self.get("api/sessions"):
            if session.get("path") == relative and session.get("kernel"):
                kernel = self.get(f"api/kernels/{session['kernel']['id']}")
                return bool(kernel["execution_state"] == "idle" and kernel["connections"] >= 1)
        return False


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")
