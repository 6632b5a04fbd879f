"""The charts in a real browser (JupyterLab and Notebook 7, headless Chromium): uPlot fills the
width, hovering shows every series' value, dragging zooms and a double-click resets, the log
scale and the x-axis choice apply and survive a page reload, each series' best epoch carries a
marker where that epoch is drawn, four trainings compare with one colour each and a legend
grouped by training, and a live training's per-batch loss is drawn over the whole run.

Four finished trainings of 30 epochs are written through the Store API (no Keras: the charts
are under test, not the callback); the live one is a real `Tracker` driven by a loop.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.helpers import local_store, wait_until

from .conftest import open_notebook
from .jupyter import JupyterServer
from .notebook_page import UI_TIMEOUT_MS, NotebookPage
from .test_compare_and_delete import format_metric

pytestmark = pytest.mark.e2e

EPOCHS = 30
STEPS = 40
RUNS = 4
# The epoch (1-based) where each run's val_loss is lowest and val_accuracy highest.
BEST = {1: 13, 2: 21, 3: 7, 4: 26}


def logs_of(run: int, epoch: int) -> dict[str, float]:
    """Curves with a known best: val_loss dips at BEST[run], accuracy peaks there."""
    decay = 1.0 / (1.0 + epoch / (3.0 + run))
    dip = epoch + 1 == BEST[run]
    return {
        "loss": round(2.0 * decay + 0.01 * (epoch % 3), 6),
        "val_loss": round((2.2 * decay + 0.05) * (0.3 if dip else 1.0), 6),
        "accuracy": round(0.5 + 0.4 * (1 - decay), 6),
        "val_accuracy": round(0.45 + 0.3 * (1 - decay) + (0.3 if dip else 0.0), 6),
    }


def write_runs(model_key: str) -> list[dict[str, Any]]:
    """RUNS finished trainings of EPOCHS epochs in the store; what each one holds."""
    from dltrack.wire.keys import new_training_id
    from dltrack.wire.records import EpochRecord

    store = local_store()
    runs = []
    try:
        begin = time.time() - 10_000
        for run in range(1, RUNS + 1):
            tid = new_training_id()
            started = begin + run * 1000
            store.start_training(
                model_key, tid, {"epochs": EPOCHS, "steps": STEPS, "run": run}, started
            )
            epochs = []
            for e in range(EPOCHS):
                at = started + e * 10.0
                store.write_epoch(
                    model_key, tid, EpochRecord(e, logs_of(run, e), STEPS, at, at + 9.5)
                )
                epochs.append(logs_of(run, e))
            store.update_training(
                model_key,
                tid,
                status="completed",
                ended_at=started + EPOCHS * 10.0,
                last_seen=started + EPOCHS * 10.0,
                epochs_done=EPOCHS,
                final_logs=epochs[-1],
            )
            runs.append({"run": run, "training_id": tid, "started": started, "epochs": epochs})
    finally:
        store.close()
    return runs


# -- the page --------------------------------------------------------------------------------


def chart(nb: NotebookPage, metric: str) -> Any:
    return nb.monitor().locator(f'[data-testid="chart"][data-metric="{metric}"]')


def x_pixel(nb: NotebookPage, metric: str, x: float) -> tuple[float, float]:
    """Page coordinates of data x at mid-height of the chart's plotting area."""
    plot = chart(nb, metric).get_by_test_id("plot")
    lo = float(plot.get_attribute("data-x-min") or "nan")
    hi = float(plot.get_attribute("data-x-max") or "nan")
    # A moment after a resize the notebook may still be laying the output out anew.
    box = wait_until(lambda: plot.locator(".u-over").bounding_box(), 30, "the chart laid out")
    return box["x"] + (x - lo) / (hi - lo) * box["width"], box["y"] + box["height"] / 2


def legend_values(nb: NotebookPage, metric: str) -> dict[str, str]:
    """Series key → the value its legend item shows."""
    values: dict[str, str] = chart(nb, metric).evaluate(
        """c => Object.fromEntries([...c.querySelectorAll('[data-testid=legend-item]')].map(
          i => [i.dataset.series, i.querySelector('[data-testid=legend-value]').textContent]))"""
    )
    return values


def open_monitor(
    server: JupyterServer, page: NotebookPage, kernel_name: str, home: Path, key: str, rows: int
) -> NotebookPage:
    nb = open_notebook(server, page, kernel_name, [f"%load_ext dltrack\n%dltrack {key}"], home)
    nb.run_cell(0)
    expect(nb.by_testid("training-row")).to_have_count(rows, timeout=UI_TIMEOUT_MS)
    nb.open_tab("charts")
    expect(chart(nb, "loss").locator("canvas")).to_have_count(1, timeout=UI_TIMEOUT_MS)
    return nb


def hover(nb: NotebookPage, metric: str, x: float) -> None:
    nb.page.mouse.move(*x_pixel(nb, metric, x))


def test_hover_zoom_log_best_and_width(
    jupyter: JupyterServer,
    notebook_page: NotebookPage,
    kernel_name: str,
    dltrack_home: Path,
    model_key: str,
) -> None:
    runs = write_runs(model_key)
    newest = runs[-1]
    nb = open_monitor(jupyter, notebook_page, kernel_name, dltrack_home, model_key, RUNS)
    expect(nb.by_testid("details")).to_have_attribute("data-training-id", newest["training_id"])
    tid = newest["training_id"]

    # Width: the two charts share the row, and each canvas is as wide as its chart.
    panel = nb.monitor().locator(".dltrack-charts").bounding_box()
    assert panel is not None
    for metric in ("loss", "accuracy"):
        plot = chart(nb, metric).get_by_test_id("plot")
        width = plot.evaluate("p => [p.clientWidth, p.querySelector('.uplot').offsetWidth]")
        assert abs(width[0] - width[1]) <= 1, width
        assert width[0] >= (panel["width"] - 12) / 2 - 2, (width, panel)
    # …and follows the page: a narrower window, narrower canvases.
    before = chart(nb, "loss").locator(".uplot").evaluate("u => u.offsetWidth")
    nb.page.set_viewport_size({"width": 1000, "height": 1000})
    expect(chart(nb, "loss").locator(".uplot")).not_to_have_js_property("offsetWidth", before)
    nb.page.set_viewport_size({"width": 1400, "height": 1000})

    # Hover: every series' value at the epoch under the cursor, in every chart.
    hover(nb, "loss", 10)
    expect(chart(nb, "loss").get_by_test_id("hover-x")).to_have_text("epoch 10")
    expect(chart(nb, "accuracy").get_by_test_id("hover-x")).to_have_text("epoch 10")
    logs = newest["epochs"][9]
    assert legend_values(nb, "loss") == {
        f"{tid}:train:loss": format_metric(logs["loss"]),
        f"{tid}:val:val_loss": format_metric(logs["val_loss"]),
    }
    assert legend_values(nb, "accuracy")[f"{tid}:val:val_accuracy"] == format_metric(
        logs["val_accuracy"]
    )
    # Off the chart: the latest values.
    nb.page.mouse.move(5, 5)
    expect(chart(nb, "loss").get_by_test_id("hover-x")).to_have_text("")
    assert legend_values(nb, "loss")[f"{tid}:val:val_loss"] == format_metric(
        newest["epochs"][-1]["val_loss"]
    )

    # Best epochs: min val_loss, max val_accuracy, each marked where that epoch is drawn.
    best = BEST[newest["run"]]
    for metric, key in (("loss", f"{tid}:val:val_loss"), ("accuracy", f"{tid}:val:val_accuracy")):
        marker = chart(nb, metric).locator(f'[data-testid="best-marker"][data-series="{key}"]')
        expect(marker).to_have_attribute("data-epoch", str(best))
        expect(marker).to_be_visible()
        box = marker.bounding_box()
        assert box is not None
        assert abs(box["x"] + box["width"] / 2 - x_pixel(nb, metric, best)[0]) <= 2
        value = newest["epochs"][best - 1]["val_" + metric]
        item = chart(nb, metric).locator(f'[data-testid="legend-item"][data-series="{key}"]')
        expect(item.get_by_test_id("legend-best")).to_have_text(
            f"best {format_metric(value)} @ epoch {best}"
        )
        # The marker's centre is the best point: hovering it shows that epoch and value.
        nb.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        expect(chart(nb, metric).get_by_test_id("hover-x")).to_have_text(f"epoch {best}")
        assert legend_values(nb, metric)[key] == format_metric(value)
    nb.shoot("best")

    # Zoom: drag across epochs 5 to 15; a double-click shows all again.
    plot = chart(nb, "loss").get_by_test_id("plot")
    nb.page.mouse.move(*x_pixel(nb, "loss", 5))
    nb.page.mouse.down()
    nb.page.mouse.move(*x_pixel(nb, "loss", 15), steps=5)
    nb.page.mouse.up()
    expect(plot).to_have_attribute("data-zoomed", "true")
    lo = float(plot.get_attribute("data-x-min") or "nan")
    hi = float(plot.get_attribute("data-x-max") or "nan")
    assert 4.5 <= lo <= 5.5 and 14.5 <= hi <= 15.5, (lo, hi)
    nb.page.mouse.dblclick(*x_pixel(nb, "loss", 10))
    expect(plot).to_have_attribute("data-zoomed", "false")
    expect(plot).to_have_attribute("data-x-min", "1")
    expect(plot).to_have_attribute("data-x-max", str(EPOCHS))

    # Log scale and wall time: applied, hover still right, kept through a page reload.
    nb.by_testid("chart-log").check()
    expect(plot).to_have_attribute("data-y-scale", "log")
    nb.by_testid("chart-axis").select_option("time")
    plot = chart(nb, "loss").get_by_test_id("plot")
    expect(plot).to_have_attribute("data-x-max", str(EPOCHS * 10.0 - 0.5))
    hover(nb, "loss", 9.5 + 10 * 9)  # the end of epoch 10, seconds from the start
    expect(chart(nb, "loss").get_by_test_id("hover-x")).to_have_text("time 1m 39s")
    assert legend_values(nb, "loss")[f"{tid}:train:loss"] == format_metric(logs["loss"])
    nb.shoot("log-time")
    # Saved (the output refers to the widget's model), then reloaded: the kernel still holds
    # the model, its `ui` trait included, and the widget manager restores it from there.
    nb.prompt(0).click()
    nb.page.keyboard.press("Control+s")
    saved = jupyter.root / kernel_name / f"{kernel_name}.ipynb"
    wait_until(
        lambda: "application/vnd.jupyter.widget-view+json" in saved.read_text(),
        UI_TIMEOUT_MS / 1000,
        "the notebook saved with the widget's output",
    )
    nb.page.reload()
    # The Charts tab is open again too (the layout keeps the tab in ui_state).
    expect(nb.by_testid("chart-axis")).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(nb.by_testid("chart-axis")).to_have_value("time")
    expect(nb.by_testid("chart-log")).to_be_checked()
    expect(chart(nb, "loss").get_by_test_id("plot")).to_have_attribute("data-y-scale", "log")


def test_compare_four_runs(
    jupyter: JupyterServer,
    notebook_page: NotebookPage,
    kernel_name: str,
    dltrack_home: Path,
    model_key: str,
) -> None:
    runs = write_runs(model_key)
    nb = open_monitor(jupyter, notebook_page, kernel_name, dltrack_home, model_key, RUNS)
    nb.open_tab("trainings")
    for r in runs[:-1]:
        nb.monitor().locator(
            f'[data-testid="training-row"][data-training-id="{r["training_id"]}"]'
        ).get_by_test_id("compare-checkbox").check()
    expect(nb.monitor().locator(".dltrack-compare-bar")).to_contain_text("Comparing #4, #3, #2, #1")
    nb.open_tab("charts")

    for metric in ("loss", "accuracy"):
        rows = chart(nb, metric).get_by_test_id("legend-training")
        expect(rows).to_have_count(RUNS)  # one legend row per training, not one per series
        shown = rows.evaluate_all(
            """rs => rs.map(r => ({
              label: r.querySelector('.dltrack-legend-training').textContent,
              colour: getComputedStyle(r.querySelector('.dltrack-swatch')).backgroundColor,
              styles: [...r.querySelectorAll('[data-testid=legend-item] .dltrack-swatch')]
                .map(s => getComputedStyle(s).borderTopStyle),
              points: [...r.querySelectorAll('[data-testid=legend-item]')]
                .map(i => i.dataset.points),
            }))"""
        )
        assert [s["label"] for s in shown] == ["#4", "#3", "#2", "#1"]
        assert len({s["colour"] for s in shown}) == RUNS  # one colour per training
        assert all(s["styles"] == ["solid", "dashed"] for s in shown)  # train solid, val dashed
        assert all(s["points"] == [str(EPOCHS), str(EPOCHS)] for s in shown)
        markers = chart(nb, metric).get_by_test_id("best-marker")
        expect(markers).to_have_count(2 * RUNS)
        for r in runs:
            marker = chart(nb, metric).locator(
                f'[data-testid="best-marker"][data-series="{r["training_id"]}:val:val_{metric}"]'
            )
            expect(marker).to_have_attribute("data-epoch", str(BEST[r["run"]]))

    # Hover: the eight values of epoch 20, each training's own.
    hover(nb, "loss", 20)
    expect(chart(nb, "loss").get_by_test_id("hover-x")).to_have_text("epoch 20")
    expected = {}
    for r in runs:
        logs = r["epochs"][19]
        expected[f"{r['training_id']}:train:loss"] = format_metric(logs["loss"])
        expected[f"{r['training_id']}:val:val_loss"] = format_metric(logs["val_loss"])
    assert legend_values(nb, "loss") == expected
    nb.shoot("compare-four")


def run_live(model_key: str, done: threading.Event, steps: int) -> None:
    """A real Tracker fed by a loop: 2 epochs of `steps` batches, ~100 batches a second."""
    from dltrack import Tracker

    tracker = Tracker(model_key, params={"live": True}, handle_interrupt=False)
    tracker.set_params({"epochs": 3, "steps": steps, "verbose": 0})
    tracker.on_train_begin()
    for epoch in range(2):
        tracker.on_epoch_begin(epoch)
        for step in range(steps):
            tracker.on_train_batch_end(step, {"loss": 1.0 / (epoch * steps + step + 1)})
            time.sleep(0.01)
        tracker.on_epoch_end(epoch, {"loss": 1.0 / ((epoch + 1) * steps), "val_loss": 0.02})
    tracker.on_epoch_begin(2)
    done.wait(120)  # keep it running (its per-batch curve shown) until the test is done
    tracker.on_train_end()


def test_a_live_trainings_per_batch_loss(
    jupyter_lab: JupyterServer,
    notebook_page: NotebookPage,
    kernel_name: str,
    dltrack_home: Path,
    model_key: str,
) -> None:
    steps = 150
    done = threading.Event()
    live = threading.Thread(target=run_live, args=(model_key, done, steps), daemon=True)
    nb = open_notebook(
        jupyter_lab,
        notebook_page,
        kernel_name,
        [f"%load_ext dltrack\n%dltrack {model_key}"],
        dltrack_home,
    )
    nb.run_cell(0)
    expect(nb.by_testid("connection")).to_have_attribute(
        "data-status", "live", timeout=UI_TIMEOUT_MS
    )
    live.start()
    try:
        expect(nb.by_testid("training-row")).to_have_count(1, timeout=UI_TIMEOUT_MS)
        # Two epochs done, the per-batch curve drawn on the loss chart across both.
        expect(nb.by_testid("epoch-table").locator("tbody tr")).to_have_count(
            2, timeout=UI_TIMEOUT_MS
        )
        nb.open_tab("charts")
        batch = chart(nb, "loss").locator('[data-testid="legend-item"][data-role="batch"]')
        expect(batch).to_have_count(1)
        points = int(batch.get_attribute("data-points") or 0)
        # ~10 progress messages a second over ~3 s of batches: tens of samples, all kept.
        assert 15 <= points <= 2 * steps, points
        nb.by_testid("chart-axis").select_option("step")
        plot = chart(nb, "loss").get_by_test_id("plot")
        hi = float(plot.get_attribute("data-x-max") or "nan")
        assert 2 * steps * 0.9 <= hi <= 2 * steps, hi  # global steps across the epochs
        hover(nb, "loss", steps)  # the end of epoch 1: the batch curve's value there
        value = batch.get_by_test_id("legend-value").inner_text()
        assert 0 < float(value) < 0.05, value
        nb.shoot("per-batch")
    finally:
        done.set()
        live.join(30)
