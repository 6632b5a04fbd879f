"""History and comparison (S5) in a real browser: a fresh `%dltrack KEY` shows what the store
holds, to the digit; two trainings compare on one chart with their differing params marked;
a training deleted in the widget is gone from the store.

Every number on screen is checked as text against the store's value formatted the way the
widget formats it (`format_metric`, a port of js/format.js `formatMetric`), and the store's
values against Keras' own `History`.
"""

from __future__ import annotations

import json
import math
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.helpers import run_cli, tiny_data, wait_until

from .conftest import open_notebook
from .jupyter import JupyterServer
from .notebook_page import UI_TIMEOUT_MS, NotebookPage

pytestmark = pytest.mark.e2e

EPOCHS = 3
# 64 samples, a quarter held out for validation, batches of 16: 3 steps per epoch.
BATCH_SIZE = 16
STEPS = 3
# Trainings that differ in their hyper-parameters. The third is stopped by user code after
# the first batch of its second epoch (as keras.callbacks.TerminateOnNaN does), so its last
# epoch is partial: 1 of 3 steps. The fourth has a single epoch: its charts are one point each.
TRAININGS: list[dict[str, Any]] = [
    {"params": {"lr": 0.05, "units": 8}},
    {"params": {"lr": 0.01, "units": 8}},
    {"params": {"lr": 0.05, "units": 16}, "stop_at": (1, 0)},
    {"params": {"lr": 0.1, "units": 4}, "epochs": 1},
]


# -- the widget's number format, in Python ---------------------------------------------------


def _to_precision(a: float, digits: int) -> tuple[str, int]:
    """JavaScript's `Number.prototype.toPrecision` for a positive finite `a`: the rounded
    significand's digits and its exponent (ties away from zero, on the exact binary value)."""
    exact = Decimal(a)
    exponent = exact.adjusted()
    quantum = Decimal(1).scaleb(exponent - digits + 1)
    rounded = exact.quantize(quantum, rounding=ROUND_HALF_UP)
    if rounded.adjusted() > exponent:  # 9.9996 → 10.00
        exponent += 1
        rounded = exact.quantize(quantum.scaleb(1), rounding=ROUND_HALF_UP)
    return str(rounded.scaleb(-exponent).quantize(Decimal(1).scaleb(1 - digits))), exponent


def _trim_zeros(fixed: str) -> str:
    return fixed.rstrip("0").rstrip(".") if "." in fixed else fixed


def format_metric(v: Any) -> str:
    """js/format.js `formatMetric`: 4 significant digits, trailing zeros dropped."""
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "∞" if v > 0 else "\u2212∞"  # U+2212, as js/format.js writes it
    if v == 0:
        return "0"
    sign = "-" if v < 0 else ""
    significand, exponent = _to_precision(abs(v), 4)
    if abs(v) >= 1e5 or abs(v) < 1e-3 or exponent >= 4:
        return f"{sign}{_trim_zeros(significand)}e{'+' if exponent >= 0 else '-'}{abs(exponent)}"
    digits = significand.replace(".", "")
    if exponent >= 0:
        fixed = f"{digits[: exponent + 1]}.{digits[exponent + 1 :]}"
    else:
        fixed = "0." + "0" * (-exponent - 1) + digits
    return sign + _trim_zeros(fixed)


def test_format_metric_matches_the_widget() -> None:
    """The cases js/tests/format.test.js pins for `formatMetric`."""
    cases = {
        0.41: "0.41",
        0.88123: "0.8812",
        1234.5: "1235",
        0.00012: "1.2e-4",
        123456: "1.235e+5",
        0.5: "0.5",
        -0.0123456: "-0.01235",
        0.99996: "1",
        9999.6: "1e+4",
        1.0625: "1.063",  # a tie: JavaScript rounds away from zero, Python's format would not
        0: "0",
    }
    assert {v: format_metric(v) for v in cases} == cases


# -- trainings -------------------------------------------------------------------------------


def record_trainings(model_key: str) -> list[dict[str, list[float]]]:
    """Real Keras trainings tracked with `model_key`, one per TRAININGS entry; their History."""
    import keras

    from dltrack import Tracker

    class StopMidEpoch(keras.callbacks.Callback):
        def __init__(self, epoch: int, batch: int) -> None:
            super().__init__()
            self.at = (epoch, batch)
            self.epoch = 0

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.epoch = epoch

        def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            if (self.epoch, batch) == self.at:
                self.model.stop_training = True

    x, y = tiny_data()
    histories = []
    for spec in TRAININGS:
        params = spec["params"]
        model = keras.Sequential(
            [
                keras.Input((x.shape[1],)),
                keras.layers.Dense(params["units"], activation="relu"),
                keras.layers.Dense(1),
            ],
            name=f"mlp_{params['units']}",  # not Keras' sequential_N, which differs every time
        )
        model.compile(optimizer=keras.optimizers.SGD(params["lr"]), loss="mse", metrics=["mae"])
        callbacks: list[Any] = [Tracker(model_key, params=params)]
        if "stop_at" in spec:
            callbacks.append(StopMidEpoch(*spec["stop_at"]))
        history = model.fit(
            x,
            y,
            epochs=spec.get("epochs", EPOCHS),
            batch_size=BATCH_SIZE,
            validation_split=0.25,
            verbose=0,
            callbacks=callbacks,
        )
        histories.append(history.history)
    return histories


def stored(model_key: str) -> list[dict[str, Any]]:
    """`dltrack trainings list KEY --json`: the trainings with their epochs, by number."""
    result = run_cli("trainings", "list", model_key, "--json")
    assert result.returncode == 0, result.stderr
    trainings: list[dict[str, Any]] = json.loads(result.stdout)["trainings"]
    return sorted(trainings, key=lambda t: t["number"])


def check_store_against_keras(
    trainings: list[dict[str, Any]], histories: list[dict[str, list[float]]]
) -> None:
    assert len(trainings) == len(TRAININGS)
    for t, history, spec in zip(trainings, histories, TRAININGS, strict=True):
        assert t["status"] == "completed"
        assert {k: t["params"][k] for k in spec["params"]} == spec["params"]
        assert t["params"]["epochs"] == spec.get("epochs", EPOCHS)
        assert t["params"]["steps"] == STEPS
        epochs = t["epochs"]
        assert len(epochs) == t["epochs_done"] == len(history["loss"])
        for i, e in enumerate(epochs):
            # fit()'s own logs, plus the learning rate dltrack records with each epoch.
            logs = dict(e["logs"])
            assert isinstance(logs.pop("lr"), float)
            assert logs == {name: values[i] for name, values in history.items()}
        assert t["final_logs"] == epochs[-1]["logs"]
    # The stopped one: 2 epochs of 3, the last cut short after 1 of its 3 steps.
    assert [e["steps"] for e in trainings[2]["epochs"]] == [STEPS, 1]


# -- the page --------------------------------------------------------------------------------


def open_monitor(
    server: JupyterServer, page: NotebookPage, kernel_name: str, home: Path, key: str
) -> NotebookPage:
    nb = open_notebook(server, page, kernel_name, [f"%load_ext dltrack\n%dltrack {key}"], home)
    nb.run_cell(0)
    expect(nb.by_testid("training-row")).to_have_count(len(TRAININGS), timeout=UI_TIMEOUT_MS)
    return nb


def row(nb: NotebookPage, number: int) -> Any:
    return nb.monitor().locator(f'[data-testid="training-row"][data-number="{number}"]')


def cell_texts(locator: Any) -> list[str]:
    texts: list[str] = locator.evaluate("r => [...r.cells].map(c => c.textContent)")
    return texts


def metric_cell(logs: dict[str, float], name: str) -> str:
    return f"{format_metric(logs[name])} / val {format_metric(logs['val_' + name])}"


def select(nb: NotebookPage, number: int, training_id: str) -> None:
    row(nb, number).click()
    expect(nb.by_testid("details")).to_have_attribute("data-training-id", training_id)


def series_of(nb: NotebookPage, metric: str) -> list[dict[str, Any]]:
    """The chart of `metric`: per series its training (legend row), name, role and points."""
    chart = nb.monitor().locator(f'[data-testid="chart"][data-metric="{metric}"]')
    series: list[dict[str, Any]] = chart.evaluate(
        """c => [...c.querySelectorAll('[data-testid=legend-training]')].flatMap(row =>
          [...row.querySelectorAll('[data-testid=legend-item]')].map(i => ({
            training: row.querySelector('.dltrack-legend-training').textContent,
            label: i.querySelector('.dltrack-legend-name').textContent,
            val: i.dataset.role === 'val',
            points: Number(i.dataset.points),
          })))"""
    )
    return series


def test_the_history_shows_what_the_store_holds(
    jupyter_lab: JupyterServer,
    notebook_page: NotebookPage,
    kernel_name: str,
    dltrack_home: Path,
    model_key: str,
) -> None:
    histories = record_trainings(model_key)
    trainings = stored(model_key)
    check_store_against_keras(trainings, histories)
    nb = open_monitor(jupyter_lab, notebook_page, kernel_name, dltrack_home, model_key)

    # The list: every training, newest first, with status, epochs done / planned, final metrics.
    assert nb.by_testid("trainings-table").locator("thead th").nth(7).inner_text() == "mae"
    shown = nb.by_testid("training-row")
    numbers = [shown.nth(i).get_attribute("data-number") for i in range(len(TRAININGS))]
    assert numbers == [str(n) for n in range(len(TRAININGS), 0, -1)]
    for t in trainings:
        texts = cell_texts(row(nb, t["number"]))
        assert texts[1:3] == [f"#{t['number']}", t["status"]]
        assert texts[5] == f"{t['epochs_done']} / {t['params']['epochs']}"
        assert texts[6] == metric_cell(t["final_logs"], "loss")
        assert texts[7] == metric_cell(t["final_logs"], "mae")

    # Each training's epoch table, to the digit; its charts, val_ overlaid on the same chart.
    for t in trainings:
        nb.open_tab("trainings")
        select(nb, t["number"], t["training_id"])
        nb.open_tab("epochs")
        table = nb.by_testid("epoch-table")
        expect(table.locator("tbody tr")).to_have_count(len(t["epochs"]))
        head = table.locator("thead th").all_inner_texts()
        # The learning rate dltrack records with each epoch comes after fit()'s own metrics.
        assert head == ["epoch", "duration", "loss", "val_loss", "mae", "val_mae", "lr"]
        for e in t["epochs"]:
            texts = cell_texts(table.locator(f'tbody tr[data-epoch="{e["epoch"] + 1}"]'))
            partial = e["steps"] < t["params"]["steps"]
            assert texts[0] == f"{e['epoch'] + 1}{' (partial)' if partial else ''}"
            assert texts[2:] == [format_metric(e["logs"][name]) for name in head[2:]]
        nb.open_tab("charts")
        charts = nb.by_testid("chart")
        assert charts.evaluate_all("cs => cs.map(c => c.dataset.metric)") == ["loss", "mae", "lr"]
        single = len(t["epochs"]) == 1
        for metric in ("loss", "mae"):
            series = series_of(nb, metric)
            assert [(s["label"], s["val"]) for s in series] == [
                (metric, False),
                (f"val_{metric}", True),
            ]
            assert all(s["points"] == len(t["epochs"]) for s in series)
        if single or any(e["steps"] < STEPS for e in t["epochs"]):
            nb.shoot(f"history-{t['number']}")


def test_compare_two_trainings_then_delete_one(
    jupyter_lab: JupyterServer,
    notebook_page: NotebookPage,
    kernel_name: str,
    dltrack_home: Path,
    model_key: str,
) -> None:
    record_trainings(model_key)
    trainings = stored(model_key)
    first, second = trainings[:2]
    nb = open_monitor(jupyter_lab, notebook_page, kernel_name, dltrack_home, model_key)

    # Compare #1 (selected) with #2 (checked): both trainings' curves on each chart.
    select(nb, 1, first["training_id"])
    row(nb, 2).get_by_test_id("compare-checkbox").check()
    expect(nb.monitor().locator(".dltrack-compare-bar")).to_contain_text("Comparing #2, #1")
    nb.open_tab("charts")
    for metric in ("loss", "mae"):
        series = series_of(nb, metric)
        assert [(s["training"], s["label"], s["val"], s["points"]) for s in series] == [
            ("#2", metric, False, EPOCHS),
            ("#2", f"val_{metric}", True, EPOCHS),
            ("#1", metric, False, EPOCHS),
            ("#1", f"val_{metric}", True, EPOCHS),
        ]
    # The params table: a column per training, the rows that differ (and only they) marked.
    # The user's `lr` is Keras' learning_rate (float32-rounded): one row, labelled with both.
    nb.open_tab("params")
    params = nb.by_testid("params-table")
    assert params.locator("thead th").all_inner_texts() == ["param", "#2", "#1"]
    names = set(first["params"]) | set(second["params"])
    differ = {n for n in names if first["params"].get(n) != second["params"].get(n)}
    assert differ == {"lr", "learning_rate"}
    marked = params.locator("tr.dltrack-diff").evaluate_all("rs => rs.map(r => r.dataset.param)")
    assert marked == ["learning_rate"]
    expect(params.locator('tr[data-param="learning_rate"] th')).to_have_text("learning_rate (lr)")
    expect(params.locator('tr[data-param="lr"]')).to_have_count(0)
    nb.shoot("compare")

    # Delete #2 through the training menu and its inline confirmation: gone from the list
    # and from the store.
    nb.open_tab("trainings")
    row(nb, 2).get_by_test_id("compare-checkbox").uncheck()
    select(nb, 2, second["training_id"])
    expect(nb.by_testid("delete-training")).to_be_hidden()  # behind the menu
    nb.by_testid("training-menu").click()
    nb.by_testid("delete-training").click()
    confirm = nb.by_testid("delete-training-confirm")
    expect(confirm).to_contain_text("Delete training #2 and its 3 epochs?")
    assert [t["number"] for t in stored(model_key)] == [1, 2, 3, 4]  # nothing until confirmed
    nb.by_testid("confirm-delete").click()
    expect(nb.by_testid("training-row")).to_have_count(len(trainings) - 1, timeout=UI_TIMEOUT_MS)
    expect(row(nb, 2)).to_have_count(0)

    def numbers_once_deleted() -> list[int] | None:
        numbers = [t["number"] for t in stored(model_key)]
        return None if 2 in numbers else numbers

    assert wait_until(numbers_once_deleted, timeout=30, what="the store to drop #2") == [1, 3, 4]
