"""`%dltrack KEY --follow` (Colab's mode) in JupyterLab, with the widget's background sends
switched off: what Colab does, which draws no update sent from a background thread.

A monitor without --follow then stays as it was first drawn; the following one moves while
its cell runs, ends with the training, and stays showing the last state; an interrupt ends
the follow quietly.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.helpers import start_training, wait_for_status

from .conftest import open_notebook
from .jupyter import JupyterServer
from .notebook_page import TRAINING_TIMEOUT_MS, UI_TIMEOUT_MS, NotebookPage

pytestmark = pytest.mark.e2e

COLAB_LIKE = "from dltrack_widget import TrainingMonitor\nTrainingMonitor.background_sends = False"


def bar_texts(nb: NotebookPage, cell: int) -> list[str]:
    return [t.strip() for t in nb.by_testid("epoch-bar", cell).all_inner_texts()]


def test_follow_sends_from_the_main_thread(
    jupyter_lab: JupyterServer,
    notebook_page: NotebookPage,
    kernel_name: str,
    dltrack_home: Path,
    model_key: str,
) -> None:
    training = start_training(model_key, epochs=3, step_delay=0.05)
    try:
        wait_for_status(model_key, 1, ("running",), timeout=120)
        cells = [
            f"{COLAB_LIKE}\n%load_ext dltrack\n%dltrack {model_key}",
            f"%dltrack {model_key} --follow\nprint('follow ended')",
        ]
        nb = open_notebook(jupyter_lab, notebook_page, kernel_name, cells, dltrack_home)
        nb.run_cell(0)
        expect(nb.monitor(0)).to_be_visible(timeout=UI_TIMEOUT_MS)
        nb.wait_cell_done(0)
        frozen = bar_texts(nb, 0)

        nb.run_cell(1)
        nb.wait_bars_advance(1)
        expect(nb.prompt(1)).to_have_text(re.compile(r"\[\*\]"))  # the cell is following
        nb.shoot("following", cell=1)
        assert bar_texts(nb, 0) == frozen  # background sends refused: nothing moved there

        nb.wait_cell_done(1, timeout=TRAINING_TIMEOUT_MS)
        expect(nb.output(1)).to_contain_text("follow ended")
        row = nb.by_testid("training-row", 1).first
        expect(row).to_contain_text("completed", timeout=UI_TIMEOUT_MS)
        expect(nb.by_testid("training-row", 0).first).to_contain_text("running")
        assert training.wait(timeout=120) == 0
    finally:
        if training.poll() is None:
            training.kill()
            training.wait()


def test_an_interrupt_ends_the_follow_and_the_widget_stays(
    jupyter_lab: JupyterServer,
    notebook_page: NotebookPage,
    kernel_name: str,
    dltrack_home: Path,
    model_key: str,
) -> None:
    training = start_training(model_key, epochs=20, step_delay=0.05)
    try:
        wait_for_status(model_key, 1, ("running",), timeout=120)
        cells = [f"{COLAB_LIKE}\n%load_ext dltrack\n%dltrack {model_key} --follow"]
        nb = open_notebook(jupyter_lab, notebook_page, kernel_name, cells, dltrack_home)
        nb.run_cell(0)
        nb.wait_bars_advance(0)
        nb.interrupt_kernel()
        nb.wait_cell_done(0)
        expect(nb.output(0)).not_to_contain_text("KeyboardInterrupt")
        expect(nb.by_testid("epoch-bar", 0).first).to_be_visible()
        expect(nb.by_testid("training-row", 0).first).to_contain_text("running")
    finally:
        training.kill()
        training.wait()
