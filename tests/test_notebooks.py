"""The example notebooks, executed top to bottom in a real kernel of this environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dltrack.wire.keys import is_model_key
from tests.helpers import ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

pytestmark = pytest.mark.slow

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def venv_kernel(monkeypatch: pytest.MonkeyPatch) -> str:
    """The `python3` kernel of this very environment (so the notebook imports this checkout's
    dltrack), even when the user has a `python3` kernel of their own elsewhere."""
    data_dir = Path(sys.prefix) / "share" / "jupyter"
    if not (data_dir / "kernels" / "python3" / "kernel.json").exists():
        subprocess.run(
            [sys.executable, "-m", "ipykernel", "install", "--sys-prefix"],
            check=True,
            capture_output=True,
        )
    # Searched before the user's and the system's directories.
    monkeypatch.setenv("JUPYTER_PATH", str(data_dir))
    return "python3"


def execute(path: Path, kernel: str, cwd: Path, extra_cells: tuple[str, ...] = ()) -> Any:
    nb = nbformat.read(path, as_version=4)
    for source in extra_cells:
        nb.cells.append(nbformat.v4.new_code_cell(source))
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name=kernel, resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()
    return nb


def text_of(cell: Any) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            parts.append(output["text"])
        elif "data" in output and "text/plain" in output["data"]:
            parts.append(output["data"]["text/plain"])
    return "".join(parts)


def test_quickstart(venv_kernel: str, tmp_path: Path) -> None:
    nb = execute(
        ROOT / "notebooks" / "quickstart.ipynb",
        venv_kernel,
        tmp_path,
        extra_cells=("import sys\nprint(sys.prefix)",),
    )
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors == []
    # The kernel was this environment's.
    assert text_of(code[-1]).strip() == sys.prefix

    key = text_of(code[0]).strip()
    assert is_model_key(key)

    (monitor_cell,) = [c for c in code if "%dltrack" in c.source]
    shown = [o for o in monitor_cell.outputs if WIDGET_MIME in o.get("data", {})]
    assert len(shown) == 1

    (fit_cell,) = [c for c in code if "epochs=5" in c.source]
    assert text_of(fit_cell).startswith("trained 5 epochs, val_accuracy ")

    (stop_cell,) = [c for c in code if "stop_training(" in c.source]
    stop_text = text_of(stop_cell)
    assert "training #2 stopped at epoch " in stop_text
    assert "(notebook widget)" in stop_text
    ran = int(stop_text.split("it ran ")[1].split(" of 100")[0])
    assert 1 <= ran < 100

    (list_cell,) = [c for c in code if "-m dltrack trainings" in c.source]
    listing = text_of(list_cell)
    assert "quickstart: digits  (2 trainings)" in listing
    assert "#1   completed   5/5 epochs" in listing
    assert f"#2   stopped     {ran}/100 epochs" in listing
