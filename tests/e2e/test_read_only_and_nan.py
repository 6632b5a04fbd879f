"""Two things a viewer must be able to trust. A read-only share (`dltrack share KEY
--read-only`) watches a live training but shows no control and cannot stop it, even by a stop
forged on the widget's comm (JupyterLab and Notebook 7). A NaN loss reads "NaN" in the epoch
table while the loss chart still draws (JupyterLab)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.helpers import run_cli, trainings, wait_until
from tests.test_control import Child

from .conftest import open_notebook
from .jupyter import JupyterServer
from .notebook_page import TRAINING_TIMEOUT_MS, UI_TIMEOUT_MS, NotebookPage

pytestmark = pytest.mark.e2e

# Every control the owner's widget shows for a live training with a rule; the share shows none.
CONTROLS = (
    "stop-button",
    "pause-button",
    "lr-input",
    "checkpoint-button",
    "rule-form",
    "rule-remove",
    "model-menu",
    "training-menu",
)
# A rule that never fires on finite data: it is there so that its "remove" button is drawn.
RULE = {"id": "on-nan", "when": "nan", "action": "notify"}

# The comm ids of this kernel's monitors, by who holds them (read back from the cell's output).
COMM_IDS_CELL = """\
import json
from ipywidgets.widgets.widget import _instances
from dltrack_widget.widget import TrainingMonitor
print("COMMS", json.dumps({("owner" if w.can_control else "share"): w.model_id
                          for w in list(_instances.values()) if isinstance(w, TrainingMonitor)}))"""

# A front-end message sent straight to the kernel on a websocket of its own, as a hostile page
# script could: a `comm_msg` to the monitor's comm, what the widget's `model.send()` produces.
# Resolves once the kernel has handled it (its idle status for this message).
FORGE_ON_COMM = """([url, commId, content]) => new Promise((resolve, reject) => {
  const ws = new WebSocket(url);
  const id = `forged-${Math.random().toString(16).slice(2)}`;
  ws.onerror = () => reject(new Error("the kernel's websocket refused the connection"));
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.parent_header?.msg_id === id && msg.content?.execution_state === "idle") {
      ws.close();
      resolve();
    }
  };
  ws.onopen = () => ws.send(JSON.stringify({
    channel: "shell",
    header: { msg_id: id, msg_type: "comm_msg", session: id, username: "forger",
              date: new Date().toISOString(), version: "5.3" },
    parent_header: {}, metadata: {}, buffers: [],
    content: { comm_id: commId, data: { method: "custom", content } },
  }));
})"""


def share_of(model_key: str) -> str:
    shared = run_cli("share", model_key, "--read-only")
    assert shared.returncode == 0, shared.stderr
    token = shared.stdout.strip().splitlines()[-1]
    assert model_key not in token
    return token


def kernel_channels(server: JupyterServer, kernel_name: str) -> str:
    [kernel] = [k for k in server.running_kernels() if k["name"] == kernel_name]
    return server.api_url(f"api/kernels/{kernel['id']}/channels").replace("http", "ws", 1)


def current_epoch(nb: NotebookPage, cell: int) -> int:
    bar = nb.monitor(cell).locator('[data-testid="epoch-bar"][data-state="current"]').last
    return int(bar.get_attribute("data-epoch") or 0)


def test_a_read_only_share_shows_no_controls_and_a_forged_stop_does_nothing(
    jupyter: JupyterServer,
    notebook_page: NotebookPage,
    kernel_name: str,
    dltrack_home: Path,
    model_key: str,
    tmp_path: Path,
) -> None:
    share = share_of(model_key)
    # 8 steps an epoch, 0.8 s each epoch: it runs until this test stops it.
    child = Child(model_key, tmp_path, epochs=400, delay=0.1, rules=[RULE])
    try:
        nb = open_notebook(
            jupyter,
            notebook_page,
            kernel_name,
            [f"%load_ext dltrack\n%dltrack {share}", f"%dltrack {model_key}", COMM_IDS_CELL],
            dltrack_home,
        )
        for cell in (0, 1, 2):
            nb.run_cell(cell)
            nb.wait_cell_done(cell)
        share_view, owner_view = nb.monitor(0), nb.monitor(1)
        expect(share_view).to_have_class(re.compile(r"\bdltrack-read-only\b"))
        expect(owner_view).not_to_have_class(re.compile(r"\bdltrack-read-only\b"))
        nb.wait_bars_advance(cell=0)  # the share watches the training live
        expect(nb.by_testid("rules", 0)).to_contain_text("on-nan", timeout=UI_TIMEOUT_MS)

        # The owner's monitor of the same training shows each control (so the selectors are
        # right); the share's shows none of them, whether absent or hidden by its stylesheet.
        for control in CONTROLS:
            expect(nb.by_testid(control, 1).first).to_be_visible(timeout=UI_TIMEOUT_MS)
        nb.by_testid("stop-button", 1).click()  # open Stop's menu in the owner's view
        expect(nb.by_testid("stop-now", 1)).to_be_visible()
        nb.page.keyboard.press("Escape")
        nb.shoot("share-and-owner", whole_notebook=True)
        for control in (*CONTROLS, "stop-now", "rename-model", "delete-model", "delete-training"):
            for element in nb.by_testid(control, 0).all():
                expect(element).to_be_hidden()

        comms: dict[str, str] = json.loads(
            re.findall(r"COMMS (\{.*\})", nb.output(2).inner_text())[0]
        )
        channels = kernel_channels(jupyter, kernel_name)

        # A stop forged on the share's comm: the training goes on, two more epochs and more.
        nb.page.evaluate(FORGE_ON_COMM, [channels, comms["share"], {"action": "stop"}])
        epoch = current_epoch(nb, 0)
        wait_until(lambda: current_epoch(nb, 0) >= epoch + 2, 120, "two more epochs")
        [record] = trainings(model_key)
        assert record.status == "running"
        assert child.proc.poll() is None
        expect(nb.by_testid("stop-status", 0)).to_be_hidden()

        # The same message on the owner's comm stops it: the forged one did reach the kernel.
        nb.page.evaluate(FORGE_ON_COMM, [channels, comms["owner"], {"action": "stop"}])
        code, err = child.finish(120)
        assert code == 0, err
        wait_until(lambda: trainings(model_key)[0].status == "stopped", 60, "stopped")
    finally:
        child.kill()


# Real Keras in the kernel, below the monitor: from the third epoch on the weights are NaN, so
# is the loss, and TerminateOnNaN ends the fit in that epoch.
NAN_TRAINING = """\
import keras
import numpy as np
from dltrack import Tracker

class PoisonFromEpoch3(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            for weight in self.model.trainable_weights:
                weight.assign(np.full(weight.shape, np.nan, dtype="float32"))

x = np.random.default_rng(0).random((64, 4), dtype="float32")
y = x.sum(axis=1, keepdims=True)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse")
history = model.fit(
    x, y, batch_size=8, epochs=6, verbose=0,
    callbacks=[PoisonFromEpoch3(), keras.callbacks.TerminateOnNaN(), Tracker("{key}")],
)
print(f"fit ended after {len(history.epoch)} epochs")"""


def column(table: Any, name: str) -> int:
    """The index of the column headed `name`."""
    heads: list[str] = table.locator("thead th").all_inner_texts()
    return heads.index(name)


def test_a_nan_loss_reads_nan_in_the_epoch_table_and_the_chart_still_draws(
    jupyter_lab: JupyterServer,
    notebook_page: NotebookPage,
    kernel_name: str,
    dltrack_home: Path,
    model_key: str,
) -> None:
    errors: list[str] = []
    notebook_page.page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    notebook_page.page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    nb = open_notebook(
        jupyter_lab,
        notebook_page,
        kernel_name,
        [f"%load_ext dltrack\n%dltrack {model_key}", NAN_TRAINING.replace("{key}", model_key)],
        dltrack_home,
    )
    nb.run_cell(0)
    expect(nb.monitor()).to_be_visible(timeout=UI_TIMEOUT_MS)
    nb.wait_cell_done(0)
    nb.run_cell(1)
    nb.wait_cell_done(1, timeout=TRAINING_TIMEOUT_MS)
    expect(nb.output(1)).to_contain_text("fit ended after 3 epochs")

    table = nb.by_testid("epoch-table")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(3, timeout=UI_TIMEOUT_MS)
    loss = column(table, "loss")
    expect(rows.nth(2).locator("td").nth(loss)).to_have_text("NaN")
    for finite in (0, 1):
        expect(rows.nth(finite).locator("td").nth(loss)).to_have_text(re.compile(r"^\d"))
    nb.shoot("nan-epochs")

    nb.open_tab("charts")
    chart = nb.monitor().locator('[data-testid="chart"][data-metric="loss"]')
    expect(chart.locator("canvas")).to_have_count(1, timeout=UI_TIMEOUT_MS)
    # The two finite epochs are drawn; the NaN one is a gap, not a broken chart.
    item = chart.locator('[data-testid="legend-item"]').first
    expect(item).to_have_attribute("data-points", "2")
    # ... and a marker at the NaN epoch's end says so, since the curve cannot.
    marker = chart.locator('[data-testid="event-marker"][data-kinds="non-finite"]')
    expect(marker).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(marker).to_have_attribute("title", re.compile(r"^epoch 3 · .*loss NaN"))
    nb.shoot("nan-chart")
    assert not errors, errors
