"""The package as a user installs it: `python -m build` (what `make dist` runs), then fresh
virtual environments that install the wheel from the file, from the configured package index.

The test process's PYTHONPATH (a checkout) is removed from every fresh environment, so what
runs there is the wheel's code and nothing else.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

INSTALL_TIMEOUT_S = 900.0


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(extra)
    return env


def build_wheel(out: Path) -> Path:
    """sdist + wheel into `out` (the wheel is built from the sdist, as `make dist` does)."""
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=INSTALL_TIMEOUT_S,
        env=clean_env(),
    )
    [wheel] = out.glob("dltrack-*.whl")
    return wheel


class Venv:
    """A fresh `python -m venv` with nothing but pip in it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        subprocess.run(
            [sys.executable, "-m", "venv", str(path)], check=True, timeout=300, env=clean_env()
        )
        self.python = path / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.path / "bin" / name

    def pip_install(self, *requirements: str) -> None:
        subprocess.run(
            [str(self.python), "-m", "pip", "install", "-q", *requirements],
            check=True,
            capture_output=True,
            timeout=INSTALL_TIMEOUT_S,
            env=clean_env(),
        )

    def run(self, *args: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(a) for a in args],
            capture_output=True,
            text=True,
            timeout=300,
            env=clean_env(TF_CPP_MIN_LOG_LEVEL="3", **env),
            cwd=self.path,
        )

    def distributions(self) -> dict[str, int]:
        """Installed distribution name (lower case) → bytes of its installed files."""
        code = (
            "import importlib.metadata as m, json, os\n"
            "print(json.dumps({d.metadata['Name'].lower(): sum("
            "os.path.getsize(d.locate_file(f)) for f in (d.files or []) "
            "if os.path.exists(d.locate_file(f))) for d in m.distributions()}))"
        )
        result = self.run(str(self.python), "-c", code)
        sizes: dict[str, int] = json.loads(result.stdout)
        return sizes
