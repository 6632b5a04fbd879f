"""Build the widget's front end (js/ → dltrack_widget/static/) when the bundle is missing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class FrontEndBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        bundle = root / "dltrack_widget" / "static" / "widget.js"
        if bundle.exists() or not (root / "js" / "package.json").exists():
            return
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(
                "building the widget needs Node.js and npm on PATH (version: js/package.json)"
            )
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=root / "js", check=True)
        subprocess.run([npm, "run", "build"], cwd=root / "js", check=True)
