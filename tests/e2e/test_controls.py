"""The control bar in JupyterLab and Notebook 7, for a training in the same kernel, busy in
fit() in the cell below the widget (the clicks take Stop's route around the busy shell):
pause/resume, the learning-rate field, Checkpoint, Stop's menu (save and stop, stop after this
epoch); a rule added from the rules form, its notification banner and browser notification;
the training's events as markers on the charts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.helpers import epochs, local_store, trainings

from .jupyter import JupyterServer
from .notebook_page import TRAINING_TIMEOUT_MS, UI_TIMEOUT_MS, NotebookPage
from .test_stop import start_training_below

pytestmark = pytest.mark.e2e


def event_kinds(model_key: str, training_id: str) -> list[str]:
    store = local_store()
    try:
        return [e["kind"] for e in store.list_events(model_key, training_id)]
    finally:
        store.close()


def test_the_control_bar_steers_a_training_in_this_kernel(
    jupyter: JupyterServer,
    notebook_page: NotebookPage,
    kernel_name: str,
    dltrack_home: Path,
    model_key: str,
) -> None:
    nb = start_training_below(jupyter, notebook_page, kernel_name, dltrack_home, model_key)
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
    kinds = event_kinds(model_key, record.training_id)
    for kind in ("pause", "resume", "set_lr", "checkpoint", "save_and_stop", "end"):
        assert kind in kinds, kinds


# Records what the widget hands the browser's Notification, then lets the real one show it.
SPY_ON_NOTIFICATIONS = """() => {
  const Real = window.Notification;
  window.__notified = [];
  window.Notification = class extends Real {
    constructor(title, options) {
      window.__notified.push([title, options && options.body]);
      super(title, options);
    }
  };
}"""


def test_a_rule_from_the_form_notifies_marks_the_charts_and_stop_waits_for_the_epoch(
    jupyter: JupyterServer,
    notebook_page: NotebookPage,
    kernel_name: str,
    dltrack_home: Path,
    model_key: str,
) -> None:
    # The user allowed notifications for this server (what "Notify me" asks for).
    notebook_page.page.context.grant_permissions(["notifications"])
    nb = start_training_below(jupyter, notebook_page, kernel_name, dltrack_home, model_key)
    nb.page.evaluate(SPY_ON_NOTIFICATIONS)
    form = nb.by_testid("rule-form")
    expect(form.locator("datalist option[value='loss']")).to_have_count(1, timeout=UI_TIMEOUT_MS)

    # Plain mistakes are caught in the form and send nothing.
    nb.by_testid("rule-amount").fill("0.5")
    nb.by_testid("rule-add").click()
    expect(nb.by_testid("rule-error")).to_have_text("name a metric, e.g. val_loss")
    expect(nb.by_testid("rules")).to_be_empty()

    # loss <= 100 holds at the first epoch end: the rule fires there.
    nb.by_testid("rule-metric").fill("loss")
    nb.by_testid("rule-when").select_option("below")
    nb.by_testid("rule-amount").fill("100")
    nb.by_testid("rule-action").select_option("notify")
    nb.by_testid("rule-add").click()
    expect(nb.by_testid("rule-error")).to_have_text("")
    expect(nb.by_testid("rules")).to_contain_text(
        "below-loss: when loss <= 100 → notify", timeout=UI_TIMEOUT_MS
    )
    banner = nb.by_testid("notify-banner")
    expect(banner).to_contain_text("below-loss", timeout=TRAINING_TIMEOUT_MS)
    nb.page.wait_for_function("() => window.__notified.length > 0", timeout=UI_TIMEOUT_MS)
    [[title, body]] = nb.page.evaluate("() => window.__notified")
    assert "below-loss" in body, (title, body)
    expect(nb.by_testid("notify-permission")).to_be_hidden()  # already allowed
    nb.shoot("rules-form")
    nb.by_testid("note-dismiss").click()
    expect(banner).to_have_count(0)

    # The firing and the rule's arrival are events, drawn on the charts.
    nb.open_tab("charts")
    loss = nb.monitor().locator('[data-testid="chart"][data-metric="loss"]')
    fired = loss.locator('[data-testid="event-marker"][data-kinds~="rule"]')
    expect(fired).to_have_count(1, timeout=UI_TIMEOUT_MS)
    expect(fired).to_have_attribute("title", re.compile(r"epoch \d+ · rule · below-loss"))
    fired.hover()
    expect(loss.locator('[data-testid="event-hover"]')).to_contain_text("below-loss")
    expect(loss.locator('[data-testid="event-marker"][data-kinds~="add_rule"]')).to_have_count(1)
    nb.shoot("chart-markers")

    # Stop's menu: after this epoch, so the last epoch runs whole.
    nb.by_testid("stop-button").click()
    expect(nb.by_testid("stop-save")).to_be_visible()
    nb.shoot("stop-menu")
    nb.by_testid("stop-after-epoch").click()
    expect(nb.by_testid("stop-status")).to_contain_text(
        re.compile("stopping after epoch|stopped at epoch"), timeout=UI_TIMEOUT_MS
    )
    nb.wait_cell_done(1, timeout=TRAINING_TIMEOUT_MS)
    expect(nb.by_testid("stop-status")).to_have_attribute(
        "data-phase", "stopped", timeout=UI_TIMEOUT_MS
    )
    [record] = trainings(model_key)
    assert record.status == "stopped"
    assert record.stop is not None and record.stop["kind"] == "stop_after_epoch"
    done = epochs(model_key, record.training_id)
    assert done and all(e.steps == record.params["steps"] for e in done), done
    kinds = event_kinds(model_key, record.training_id)
    assert "add_rule" in kinds and "rule" in kinds, kinds
