"""The control bar in JupyterLab and Notebook 7: pause/resume, the learning-rate field,
Checkpoint and Stop's menu (Save and stop, Stop after this epoch), for a training in the same kernel, busy in fit() in the cell
below the widget (the clicks take Stop's route around the busy shell)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.helpers import local_store, trainings

from .conftest import open_notebook
from .jupyter import JupyterServer
from .notebook_page import TRAINING_TIMEOUT_MS, UI_TIMEOUT_MS, NotebookPage
from .test_stop import monitor_cell, training_cell

pytestmark = pytest.mark.e2e


def test_the_control_bar_steers_a_training_in_this_kernel(
    jupyter: JupyterServer,
    notebook_page: NotebookPage,
    kernel_name: str,
    dltrack_home: Path,
    model_key: str,
) -> None:
    nb = open_notebook(
        jupyter,
        notebook_page,
        kernel_name,
        [monitor_cell(model_key), training_cell(model_key)],
        dltrack_home,
    )
    nb.run_cell(0)
    expect(nb.monitor()).to_be_visible(timeout=UI_TIMEOUT_MS)
    nb.wait_cell_done(0)
    nb.run_cell(1)
    nb.wait_bars_advance()
    status = nb.by_testid("controls-status")

    nb.by_testid("pause-button").click()
    expect(nb.by_testid("paused")).to_contain_text("paused since", timeout=UI_TIMEOUT_MS)
    expect(nb.by_testid("pause-button")).to_have_text("Resume")
    nb.shoot("paused")
    nb.by_testid("pause-button").click()
    expect(status).to_contain_text(re.compile(r"resume done: after \d+s"), timeout=UI_TIMEOUT_MS)

    rate = nb.by_testid("lr-input")
    rate.fill("0.0005")
    rate.press("Enter")
    expect(status).to_contain_text("→ 0.0005", timeout=UI_TIMEOUT_MS)
    nb.by_testid("checkpoint-button").click()
    expect(status).to_contain_text(
        re.compile(r"checkpoint done: saved .*\.keras"), timeout=UI_TIMEOUT_MS
    )
    expect(nb.by_testid("events")).to_contain_text("checkpoint", timeout=UI_TIMEOUT_MS)
    nb.shoot("steered")

    nb.by_testid("stop-button").click()
    nb.by_testid("stop-save").click()
    nb.wait_cell_done(1, timeout=TRAINING_TIMEOUT_MS)
    [record] = trainings(model_key)
    assert record.status == "stopped"
    store = local_store()
    try:
        kinds = [e["kind"] for e in store.list_events(model_key, record.training_id)]
    finally:
        store.close()
    for kind in ("pause", "resume", "set_lr", "checkpoint", "save_and_stop", "end"):
        assert kind in kinds, kinds
