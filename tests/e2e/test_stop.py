"""Watching and stopping a training from the notebook, in JupyterLab and Notebook 7.

(a) the training runs in another process; (b) it runs in the same kernel, in the cell below
the widget, so the click must reach a kernel that is busy in `fit()` (scenario S3 of
docs/architecture.md);
(b') the ■ interrupt path, the fallback where no subshell route exists. Each test records its
click → answer latency in test-artifacts/latency.jsonl (docs/browser.md); nothing asserts on
time.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.helpers import start_training, trainings

from .conftest import open_notebook, save_measurement
from .jupyter import JupyterServer
from .notebook_page import TRAINING_TIMEOUT_MS, UI_TIMEOUT_MS, NotebookPage

pytestmark = pytest.mark.e2e

EPOCHS = 20
STOPPED_AT = re.compile(r"stopped at epoch \d+, step \d+")


def monitor_cell(model_key: str) -> str:
    return f"%load_ext dltrack\n%dltrack {model_key}"


def training_cell(model_key: str) -> str:
    """What a user writes below the widget: a real Keras fit with the Tracker, paced so that
    it lasts long enough to be stopped (the demo's digits CNN, 90 steps per epoch)."""
    return f"""\
import time
import keras
from dltrack import Tracker
from dltrack.training.demo_model import build_model, load_digits

class Pace(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        time.sleep(0.05)

x, y = load_digits()
history = build_model().fit(
    x, y, epochs={EPOCHS}, batch_size=16, validation_split=0.2, verbose=0,
    callbacks=[Tracker("{model_key}"), Pace()],
)
print(f"fit ended after {{len(history.epoch)}} epochs")"""


def stop_and_expect_stopped(nb: NotebookPage, shot_prefix: str) -> dict[str, object]:
    """Stop now; the status goes requested → acknowledged → stopped at epoch E, step S."""
    nb.watch_stop_timing()
    status = nb.stop_now()
    expect(status).to_be_visible(timeout=UI_TIMEOUT_MS)
    nb.shoot(f"{shot_prefix}-requested")
    expect(status).to_have_attribute(
        "data-phase", re.compile("acknowledged|stopped"), timeout=UI_TIMEOUT_MS
    )
    expect(status).to_have_attribute("data-phase", "stopped", timeout=TRAINING_TIMEOUT_MS)
    expect(status).to_contain_text(STOPPED_AT)
    nb.shoot(f"{shot_prefix}-stopped")
    return nb.stop_timing()


def start_training_below(
    jupyter: JupyterServer,
    notebook_page: NotebookPage,
    kernel_name: str,
    dltrack_home: Path,
    model_key: str,
) -> NotebookPage:
    """The monitor in the first cell, a real Keras fit() running in the second."""
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
    return nb


def test_stop_a_training_in_another_process(
    jupyter: JupyterServer,
    notebook_page: NotebookPage,
    kernel_name: str,
    dltrack_home: Path,
    model_key: str,
) -> None:
    training = start_training(model_key, epochs=EPOCHS, step_delay=0.05)
    try:
        nb = open_notebook(
            jupyter, notebook_page, kernel_name, [monitor_cell(model_key)], dltrack_home
        )
        nb.run_cell(0)
        expect(nb.monitor()).to_be_visible(timeout=UI_TIMEOUT_MS)
        nb.wait_bars_advance()
        expect(nb.by_testid("epoch-bar").last).to_contain_text("loss", timeout=UI_TIMEOUT_MS)
        # A finished epoch carries its validation metrics.
        done = nb.monitor().locator('[data-testid="epoch-bar"][data-state="done"]').first
        expect(done).to_contain_text("val_loss", timeout=TRAINING_TIMEOUT_MS)
        nb.shoot("live")

        timing = stop_and_expect_stopped(nb, "stop")
        assert training.wait(timeout=120) == 0, training.stderr.read() if training.stderr else ""
    finally:
        if training.poll() is None:
            training.kill()
            training.wait()
    [record] = trainings(model_key)
    assert record.status == "stopped"
    assert record.epochs_done < EPOCHS
    save_measurement(f"other process, {jupyter.app}", timing)


def test_stop_a_training_in_this_kernel_while_its_cell_runs(
    jupyter: JupyterServer,
    notebook_page: NotebookPage,
    kernel_name: str,
    dltrack_home: Path,
    model_key: str,
) -> None:
    nb = start_training_below(jupyter, notebook_page, kernel_name, dltrack_home, model_key)
    expect(nb.prompt(1)).to_have_text(re.compile(r"\[\*\]"))  # fit() is running
    nb.shoot("busy", whole_notebook=True)

    timing = stop_and_expect_stopped(nb, "busy-stop")
    nb.wait_cell_done(1, timeout=TRAINING_TIMEOUT_MS)
    # Without a route around the busy shell the click would only be handled after all
    # EPOCHS epochs, and the training would end "completed".
    expect(nb.output(1)).to_contain_text(re.compile(r"fit ended after \d+ epochs"))
    ended_after = int(re.findall(r"fit ended after (\d+)", nb.output(1).inner_text())[0])
    assert ended_after < EPOCHS
    [record] = trainings(model_key)
    assert record.status == "stopped"
    save_measurement(f"same kernel, fit() running, {jupyter.app}", timing)


def test_interrupt_stops_a_training_in_this_kernel_gracefully(
    jupyter_lab: JupyterServer,
    notebook_page: NotebookPage,
    kernel_name: str,
    dltrack_home: Path,
    model_key: str,
) -> None:
    """■ during fit(): the fallback the widget suggests when a click cannot get through."""
    nb = start_training_below(jupyter_lab, notebook_page, kernel_name, dltrack_home, model_key)
    nb.interrupt_kernel()
    status = nb.by_testid("stop-status")
    expect(status).to_have_attribute("data-phase", "stopped", timeout=TRAINING_TIMEOUT_MS)
    expect(status).to_contain_text(STOPPED_AT)
    nb.wait_cell_done(1, timeout=TRAINING_TIMEOUT_MS)
    output = nb.output(1)
    expect(output).to_contain_text(re.compile(r"fit ended after \d+ epochs"))
    expect(output).not_to_contain_text("KeyboardInterrupt")
    nb.shoot("interrupted")
    [record] = trainings(model_key)
    assert record.status == "stopped"
