"""The monitor's layout in JupyterLab and Notebook 7: a height that does not grow with the
epochs of a live training, a phone-width (390 px) page with nothing overflowing, a compare
selection that survives a page reload, a CSV download that matches the store, and the static
snapshot a notebook shows once its kernel is gone."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ViewportSize, expect

from tests.helpers import run_cli, start_training

from .conftest import _shut_down_kernels, open_notebook
from .jupyter import JupyterServer
from .notebook_page import TRAINING_TIMEOUT_MS, UI_TIMEOUT_MS, NotebookPage
from .test_history_and_theme import record_trainings

pytestmark = pytest.mark.e2e

#: The monitor's default height limit (js/widget.css `--dltrack-max-height`).
HEIGHT_LIMIT = 600
PHONE: ViewportSize = {"width": 390, "height": 844}

# Layout facts of the monitor, read in one go: its height and its CSS limit, whether anything
# in it sticks out to the right (scrolling containers excepted: their content may be wider,
# that is what they scroll), and whether it is wider than its output area.
LAYOUT_JS = """root => {
  const box = root.getBoundingClientRect();
  const scrollers = [...root.querySelectorAll('*')].filter(e => {
    const s = getComputedStyle(e);
    return s.overflowX === 'auto' || s.overflowX === 'scroll' || s.overflowX === 'hidden';
  });
  const inside = e => scrollers.some(s => s !== e && s.contains(e));
  const out = [];
  for (const e of root.querySelectorAll('*')) {
    if (!e.getClientRects().length || inside(e)) continue;
    const r = e.getBoundingClientRect();
    if (r.right > box.right + 1 || r.left < box.left - 1) {
      const name = e.getAttribute('data-testid') || e.className || e.tagName;
      out.push(name + ' ' + Math.round(r.right - box.right));
    }
  }
  const area = root.closest('.jp-OutputArea-output') || root.parentElement;
  return {
    height: box.height,
    maxHeight: getComputedStyle(root).maxHeight,
    width: box.width,
    areaWidth: area.getBoundingClientRect().width,
    scrollWidth: root.scrollWidth,
    clientWidth: root.clientWidth,
    overflowing: out.slice(0, 10),
  };
}"""


def layout(nb: NotebookPage) -> dict[str, Any]:
    facts: dict[str, Any] = nb.monitor().evaluate(LAYOUT_JS)
    return facts


def assert_fits(facts: dict[str, Any]) -> None:
    assert facts["overflowing"] == [], facts
    assert facts["scrollWidth"] <= facts["clientWidth"] + 1, facts
    assert facts["width"] <= facts["areaWidth"] + 1, facts


def monitor_cell(key: str) -> str:
    return f"%load_ext dltrack\n%dltrack {key}"


def wait_epochs_done(nb: NotebookPage, done: int) -> None:
    """Until the summary's current bar is past `done` finished epochs (1-based epoch > done)."""
    nb.page.wait_for_function(
        """([root, done]) => {
          const bar = root.querySelector('[data-testid="current-bar"]');
          return bar && Number(bar.getAttribute('data-epoch')) > done;
        }""",
        arg=[nb.monitor().element_handle(), done],
        timeout=TRAINING_TIMEOUT_MS,
    )


def test_height_stays_bounded_and_a_phone_width_fits(
    jupyter: JupyterServer,
    notebook_page: NotebookPage,
    kernel_name: str,
    dltrack_home: Path,
    model_key: str,
) -> None:
    # More epochs than the test watches: it is still running for the phone-width part.
    training = start_training(model_key, epochs=200, step_delay=0.0, batch_size=64)
    try:
        cells = [monitor_cell(model_key)]
        nb = open_notebook(jupyter, notebook_page, kernel_name, cells, dltrack_home)
        nb.run_cell(0)
        expect(nb.monitor()).to_be_visible(timeout=UI_TIMEOUT_MS)
        heights = {}
        for done in (10, 30):
            wait_epochs_done(nb, done)
            facts = layout(nb)
            heights[done] = facts["height"]
            # A layout property, not a moment: the limit is the monitor's max-height, and the
            # epochs scroll inside the Epochs tab.
            assert facts["maxHeight"] == f"{HEIGHT_LIMIT}px"
            assert facts["height"] <= HEIGHT_LIMIT, facts
            assert_fits(facts)
            nb.shoot(f"epoch-{done}")
        # Bars stay one line each: as tall as their label.
        bars = nb.monitor().locator('[data-testid="epoch-bar"]')
        tall = bars.evaluate_all(
            "bs => bs.filter(b => b.getBoundingClientRect().height > 2 * "
            "b.querySelector('.dltrack-bar-label').getBoundingClientRect().height).length"
        )
        assert tall == 0

        # On a phone one reads the notebook, not JupyterLab's file browser beside it.
        open_sidebar = nb.page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
        if open_sidebar.count():
            open_sidebar.click()
        nb.page.set_viewport_size(PHONE)
        expect(nb.by_testid("stop-button")).to_be_visible()
        nb.page.wait_for_timeout(300)  # one frame for the container query
        facts = layout(nb)
        assert facts["width"] <= PHONE["width"]
        assert_fits(facts)
        stop = nb.by_testid("stop-button").bounding_box()
        summary = nb.by_testid("summary-panel").bounding_box()
        assert stop and summary and stop["width"] >= summary["width"] * 0.8  # Stop fills the row
        nb.shoot("phone")
        nb.open_tab("trainings")
        assert_fits(layout(nb))
        nb.open_tab("params")
        assert_fits(layout(nb))
    finally:
        training.kill()
        training.wait()
    print("monitor height at epochs 10 and 30:", heights)


def stored_csv_rows(model_key: str) -> list[dict[str, str]]:
    result = run_cli("trainings", "list", model_key, "--csv")
    assert result.returncode == 0, result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_reload_keeps_the_comparison_and_the_csv_matches_the_store(
    jupyter: JupyterServer,
    notebook_page: NotebookPage,
    kernel_name: str,
    dltrack_home: Path,
    model_key: str,
) -> None:
    record_trainings(model_key, [2, 3])
    nb = open_notebook(jupyter, notebook_page, kernel_name, [monitor_cell(model_key)], dltrack_home)
    nb.run_cell(0)
    rows = nb.by_testid("training-row")
    expect(rows).to_have_count(2, timeout=UI_TIMEOUT_MS)
    path = jupyter.root / kernel_name / f"{kernel_name}.ipynb"
    nb.save(lambda: "widget-view+json" in path.read_text())

    nb.monitor().locator('[data-testid="training-row"][data-number="1"]').get_by_test_id(
        "compare-checkbox"
    ).check()
    expect(nb.monitor().locator(".dltrack-compare-bar")).to_contain_text("Comparing #2, #1")
    nb.open_tab("charts")
    nb.page.reload()
    expect(nb.monitor()).to_be_visible(timeout=UI_TIMEOUT_MS)
    # The kernel kept the choices in `ui_state`: same tab, same comparison.
    expect(nb.by_testid("panel-charts")).to_be_visible(timeout=UI_TIMEOUT_MS)
    checked = nb.monitor().locator('[data-testid="training-row"][data-number="1"] input')
    expect(checked).to_be_checked()
    expect(nb.monitor().locator(".dltrack-compare-bar")).to_contain_text("Comparing #2, #1")
    nb.shoot("reloaded")
    # The Charts tab takes the output area's whole width, in JupyterLab and Notebook 7 alike.
    widths = nb.by_testid("charts-tab").evaluate(
        """t => [t.getBoundingClientRect().width,
                 t.closest('.jp-OutputArea-output').getBoundingClientRect().width]"""
    )
    assert widths[0] >= 0.95 * widths[1] > 0, widths

    nb.open_tab("trainings")
    with nb.page.expect_download() as download:
        nb.by_testid("export-csv").click()
    assert download.value.suggested_filename == "test-model-trainings.csv"
    got = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    want = stored_csv_rows(model_key)
    key = lambda r: (int(r["training"]), int(r["epoch"]))  # noqa: E731
    assert len(got) == len(want) == 5
    for mine, theirs in zip(sorted(got, key=key), sorted(want, key=key), strict=True):
        assert mine.keys() == theirs.keys()
        for name, value in theirs.items():
            if name in ("training", "training_id", "status", "epoch"):
                assert mine[name] == value
            else:  # the same float, however each side spells it
                assert float(mine[name]) == float(value), name


def test_a_reopened_notebook_without_its_kernel_shows_the_last_state(
    jupyter: JupyterServer,
    notebook_page: NotebookPage,
    kernel_name: str,
    dltrack_home: Path,
    model_key: str,
) -> None:
    record_trainings(model_key, [2, 3])
    nb = open_notebook(jupyter, notebook_page, kernel_name, [monitor_cell(model_key)], dltrack_home)
    nb.run_cell(0)
    expect(nb.by_testid("training-row")).to_have_count(2, timeout=UI_TIMEOUT_MS)
    static = nb.output(0).locator("[data-dltrack-static]")
    expect(static).to_be_hidden()  # the live monitor stands in for it
    path = jupyter.root / kernel_name / f"{kernel_name}.ipynb"
    nb.save(lambda: "data-dltrack-static" in path.read_text())
    saved = path.read_text()
    assert "guest:guest" not in saved and "password" not in saved.lower()

    _shut_down_kernels(jupyter)  # the kernel is gone; reopening starts a fresh one
    nb.page.reload()
    expect(nb.cell(0)).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(static).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(static).to_contain_text("test model")
    expect(static).to_contain_text("completed")
    expect(static.locator("tbody tr").last).to_contain_text("#1")
    expect(nb.monitor()).to_have_count(0)
    nb.shoot("no-kernel")
    outputs = json.loads(saved)["cells"][0]["outputs"]
    assert any("text/html" in o.get("data", {}) for o in outputs)
