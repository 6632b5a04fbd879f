"""The `[widget]` wheel in JupyterLab: a fresh virtual environment with the wheel and
ipykernel, as a user's kernel; its monitor shows a live training (run from the checkout in
another process, sharing the embedded store).

JupyterLab itself runs from the test environment: a user's own JupyterLab only needs the
ipywidgets extension, which `dltrack[widget]` brings into the kernel's environment too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ipykernel.kernelspec import get_kernel_dict
from playwright.sync_api import expect

from tests.helpers import start_training
from tests.wheel_helpers import Venv

from .jupyter import DISPLAY_NAME, JupyterServer
from .notebook_page import UI_TIMEOUT_MS, NotebookPage

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_widget_wheel_shows_the_monitor_in_jupyterlab(
    built_wheel: Path,
    jupyter_lab: JupyterServer,
    notebook_page: NotebookPage,
    kernel_name: str,
    dltrack_home: Path,
    model_key: str,
    tmp_path: Path,
) -> None:
    venv = Venv(tmp_path / "notebook")
    venv.pip_install(f"{built_wheel}[widget]", "ipykernel")
    spec = get_kernel_dict()
    spec["argv"][0] = str(venv.python)
    # PYTHONPATH="" hides the checkout the server's environment points at.
    spec.update(
        display_name=DISPLAY_NAME, env={"DLTRACK_HOME": str(dltrack_home), "PYTHONPATH": ""}
    )
    spec_dir = jupyter_lab.kernels_dir / kernel_name
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    relative = f"{kernel_name}/{kernel_name}.ipynb"
    cell = "import dltrack_widget\nprint(dltrack_widget.__file__)\n"
    cell += f"%load_ext dltrack\n%dltrack {model_key}"
    jupyter_lab.write_notebook(relative, [cell], kernel_name)
    notebook_page.servers.add(jupyter_lab)

    training = start_training(model_key, epochs=3, step_delay=0.05)
    try:
        nb = notebook_page.open(
            jupyter_lab.notebook_url(relative, workspace=kernel_name),
            lambda: jupyter_lab.kernel_ready(relative),
        )
        nb.run_cell(0)
        expect(nb.output(0)).to_contain_text(str(venv.path), timeout=UI_TIMEOUT_MS)
        expect(nb.monitor(0)).to_be_visible(timeout=UI_TIMEOUT_MS)
        expect(nb.by_testid("model-name")).to_have_text("test model")
        nb.wait_bars_advance(0)
        nb.shoot("wheel")
    finally:
        if training.poll() is None:
            training.kill()
        training.wait()
