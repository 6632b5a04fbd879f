"""The layers hold at run time too: what a training box imports for `from dltrack import
Tracker`, and that nothing heavy or viewing-side comes with it (docs/architecture.md)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
import dltrack
from dltrack import Tracker

print(json.dumps(sorted(sys.modules)))
"""


def modules_after_importing_the_tracker() -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_the_tracker_loads_no_broker_store_widget_or_viewing_code_until_used() -> None:
    loaded = modules_after_importing_the_tracker()
    assert "dltrack.training.tracker" in loaded
    heavy = {"pika", "firebase_admin", "google.cloud.firestore", "anywidget", "ipywidgets"}
    assert not heavy & loaded, heavy & loaded
    assert not {m for m in loaded if m.startswith(("dltrack.viewing", "dltrack.cli"))}
    assert not {m for m in loaded if m.startswith("dltrack_widget")}


def test_importing_dltrack_alone_loads_neither_keras_nor_the_backends() -> None:
    probe = "import json, sys, dltrack; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    loaded = set(json.loads(out))
    assert not {"keras", "tensorflow", "pika", "firebase_admin"} & loaded
    assert not {m for m in loaded if m.startswith("dltrack.backends.")}
