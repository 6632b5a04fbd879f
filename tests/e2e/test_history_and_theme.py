"""After the fact: a fresh `%dltrack KEY` lists the trainings and their epochs (S5), legibly in
JupyterLab's light and dark themes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from tests.helpers import tiny_data, tiny_model

from .conftest import open_notebook
from .jupyter import JupyterServer
from .notebook_page import UI_TIMEOUT_MS, NotebookPage

pytestmark = pytest.mark.e2e

# WCAG 2.x: 4.5 for body text, 3 for large text and UI parts. Muted labels (axis ticks,
# "started 5s ago") are held to 3; everything must at least be told apart from its background.
MIN_CONTRAST = 3.0

# For every visible text in the widget: its colour and the background it is drawn on (the
# translucent backgrounds of its ancestors composited over the first opaque one), and the
# WCAG contrast ratio between them.
CONTRASTS_JS = """root => {
  const rgba = s => (s.match(/[\\d.]+/g) || [0, 0, 0, 0]).map(Number).concat([1]).slice(0, 4);
  const over = (top, bottom) => {
    const a = top[3] + bottom[3] * (1 - top[3]);
    if (a === 0) return [0, 0, 0, 0];
    return [0, 1, 2].map(i => (top[i] * top[3] + bottom[i] * bottom[3] * (1 - top[3])) / a)
      .concat([a]);
  };
  const background = el => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let bg = [255, 255, 255, 1];
    for (const layer of layers.reverse()) bg = over(layer, bg);
    return bg;
  };
  const luminance = c => {
    const [r, g, b] = c.slice(0, 3).map(v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const out = [];
  for (const el of root.querySelectorAll('*')) {
    const own = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent.trim())
      .join(' ').trim();
    if (!own || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none') continue;
    const isSvg = el instanceof SVGElement;
    const bg = background(isSvg ? el.closest('svg').parentElement : el);
    const fg = over(rgba(isSvg ? style.fill : style.color), bg);
    out.push({text: own.slice(0, 40), tag: el.tagName, ratio: ratio(fg, bg),
              fg: style.color, bg: 'rgb(' + bg.slice(0, 3).map(Math.round) + ')'});
  }
  return {texts: out, background: luminance(background(root))};
}"""


def record_trainings(model_key: str, epochs: list[int]) -> None:
    """Real (tiny) Keras trainings in this process, one per entry, tracked with `model_key`."""
    from dltrack import Tracker

    x, y = tiny_data()
    for n in epochs:
        tiny_model().fit(x, y, epochs=n, batch_size=16, verbose=0, callbacks=[Tracker(model_key)])


def contrasts(nb: NotebookPage) -> dict[str, Any]:
    result: dict[str, Any] = nb.monitor().evaluate(CONTRASTS_JS)
    return result


def assert_legible(nb: NotebookPage, theme: str) -> dict[str, Any]:
    result = contrasts(nb)
    texts = result["texts"]
    assert len(texts) > 20, f"{theme}: too little text found in the widget: {texts}"
    poor = [t for t in texts if t["ratio"] < MIN_CONTRAST]
    assert not poor, f"{theme}: text hard to read (contrast < {MIN_CONTRAST}): {poor}"
    return result


def test_a_fresh_monitor_shows_earlier_trainings_and_their_epochs(
    jupyter_lab: JupyterServer,
    notebook_page: NotebookPage,
    kernel_name: str,
    dltrack_home: Path,
    model_key: str,
) -> None:
    record_trainings(model_key, [3, 2])
    nb = open_notebook(
        jupyter_lab,
        notebook_page,
        kernel_name,
        [f"%load_ext dltrack\n%dltrack {model_key}"],
        dltrack_home,
    )
    nb.run_cell(0)
    rows = nb.by_testid("training-row")
    expect(rows).to_have_count(2, timeout=UI_TIMEOUT_MS)
    expect(rows.first).to_contain_text("completed")
    expect(rows.last).to_contain_text("completed")

    epochs = nb.by_testid("epoch-table").locator("tbody tr")
    expect(epochs).to_have_count(2, timeout=UI_TIMEOUT_MS)  # the newest training: #2
    rows.filter(has_text="#1").click()
    expect(epochs).to_have_count(3)
    nb.open_tab("charts")
    expect(nb.by_testid("chart").first).to_be_visible()
    nb.shoot("history")


def test_the_widget_is_legible_in_light_and_dark_themes(
    jupyter_lab: JupyterServer,
    notebook_page: NotebookPage,
    kernel_name: str,
    dltrack_home: Path,
    model_key: str,
) -> None:
    record_trainings(model_key, [3])
    nb = open_notebook(
        jupyter_lab,
        notebook_page,
        kernel_name,
        [f"%load_ext dltrack\n%dltrack {model_key}"],
        dltrack_home,
    )
    nb.run_cell(0)
    expect(nb.by_testid("training-row")).to_have_count(1, timeout=UI_TIMEOUT_MS)
    expect(nb.by_testid("epoch-table").locator("tbody tr")).to_have_count(3)
    light = assert_legible(nb, "JupyterLab Light")
    assert light["background"] > 0.5

    nb.use_theme("JupyterLab Dark")
    expect(nb.page.locator("body")).to_have_attribute(
        "data-jp-theme-light", "false", timeout=UI_TIMEOUT_MS
    )
    # The widget follows the theme (JupyterLab's --jp-* variables), not a white panel of its
    # own; the theme's stylesheet may still be loading when the attribute flips.
    try:
        nb.page.wait_for_function(
            f"() => ({CONTRASTS_JS})(document.querySelector('.dltrack-monitor')).background < 0.2",
            timeout=UI_TIMEOUT_MS,
        )
    except PlaywrightTimeoutError:
        pytest.fail(f"the widget stays light in the dark theme: {contrasts(nb)}")
    assert_legible(nb, "JupyterLab Dark")
    # The charts were repainted for the dark theme (uPlot's canvas cannot read CSS: it takes
    # the colours when drawn), still as wide as their place, not as the page was mid-restyle.
    nb.page.wait_for_function(
        """() => [...document.querySelectorAll('.dltrack-monitor [data-testid=plot]')].every(p =>
          Math.abs(p.querySelector('.uplot').offsetWidth - p.clientWidth) <= 1
          && p.dataset.theme === getComputedStyle(p).getPropertyValue('--dltrack-muted').trim())""",
        timeout=UI_TIMEOUT_MS,
    )
    nb.shoot("dark")
