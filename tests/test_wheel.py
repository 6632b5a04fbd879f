"""The plain wheel on a training box: a fresh virtual environment, `pip install` the file.

No widget, notebook or web-server package comes with it; `from dltrack import Tracker` says
what to install while Keras is missing (Keras needs a backend such as TensorFlow, a
gigabyte: with it, the Tracker is what every other test trains with); the CLI runs. Its
install size goes to test-artifacts/wheel.json (docs/install.md). The `[widget]` wheel in
JupyterLab is tests/e2e/test_wheel_lab.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.wheel_helpers import Venv

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
VIEWING_ONLY = {
    "anywidget",
    "ipywidgets",
    "traitlets",
    "ipython",
    "ipykernel",
    "jupyterlab",
    "starlette",
    "uvicorn",
    "websockets",
    "segno",
    "firebase-admin",
    "tensorflow",
    "keras",
}


def test_plain_wheel_on_a_training_box(built_wheel: Path, tmp_path: Path) -> None:
    venv = Venv(tmp_path / "train")
    bare = venv.distributions()
    venv.pip_install(str(built_wheel))
    installed = venv.distributions()
    added = {name: size for name, size in installed.items() if name not in bare}
    # The core dependencies (pika, and rich for the terminal view, with its own) and no more.
    assert {"dltrack", "pika", "rich"} <= set(added), added
    assert not VIEWING_ONLY & set(installed), added

    home = str(tmp_path / "home")
    no_keras = venv.run(venv.python, "-c", "from dltrack import Tracker", DLTRACK_HOME=home)
    assert no_keras.returncode == 1
    assert "needs Keras 3: pip install tensorflow" in no_keras.stderr.splitlines()[-1]

    created = venv.run(venv.bin("dltrack"), "models", "create", "box", DLTRACK_HOME=home)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    serve = venv.run(venv.bin("dltrack"), "serve", key, DLTRACK_HOME=home)
    assert serve.returncode == 2
    assert serve.stderr.strip() == (
        "dltrack: error: dltrack serve needs starlette, uvicorn, websockets and segno: "
        "pip install 'dltrack[serve]'"
    )

    ARTIFACTS.mkdir(exist_ok=True)
    report = {
        "wheel_bytes": built_wheel.stat().st_size,
        "installed_bytes": added,
        "installed_total_bytes": sum(added.values()),
    }
    (ARTIFACTS / "wheel.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report))
