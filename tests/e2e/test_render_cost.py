"""What the widget costs the browser at scale: 50 finished trainings x 1000 epochs, in JupyterLab.

A measurement, never a timed assertion (docs/front-end.md, "Rendering cost in the browser",
shows the figures): `pytest tests/e2e/test_render_cost.py -s` prints them and writes
test-artifacts/render-cost.json. The test asserts only what must hold at any speed: everything
is drawn, and charts keep at most MAX_POINTS points per series.

How it measures, in the page (browser clock, `performance.now()`):
- before the notebook loads, a probe wraps `requestAnimationFrame`: a frame callback that changed
  the widget's DOM (a MutationObserver's `takeRecords()` right after it) is a widget redraw; its
  script time is timed, then a forced layout times style + layout of what it changed. It also
  stamps every kernel WebSocket message and records long tasks (PerformanceObserver);
- clicks are timed around `element.click()` (the widget redraws synchronously for the user's own
  clicks), then the forced layout, then until the next frame has run;
- live updates come from a real `Tracker` driven by a plain-Python loop at full speed.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.helpers import local_store

from .conftest import ARTIFACTS, open_notebook
from .jupyter import JupyterServer
from .notebook_page import UI_TIMEOUT_MS, NotebookPage

pytestmark = pytest.mark.e2e

TRAININGS = 50
EPOCHS = 1000
MAX_POINTS = 2000  # js/series.js MAX_POINTS
EPOCH_ROWS = 200  # js/details.js EPOCH_ROWS
BAR_LIMIT = 10  # js/bars.js BAR_LIMIT
LIVE_SECONDS = 8.0
LIVE_EPOCH_SECONDS = 0.5  # the live loop ends an epoch every half second

PROBE_JS = """
(() => {
  const p = (window.__probe = {
    frames: [], messages: [], longtasks: [], runAt: null, complete: null, completeFrame: null,
  });
  const ALL = {subtree: true, childList: true, characterData: true, attributes: true};
  const widgetNode = (n) => (n.nodeType === 1 ? n : n.parentElement)?.closest?.('.dltrack-monitor');
  const watch = new MutationObserver(() => {});
  const raf = window.requestAnimationFrame.bind(window);
  window.requestAnimationFrame = (fn) => raf((ts) => {
    if (!watch.__on) {
      watch.observe(document, ALL);
      watch.__on = true;
    }
    watch.takeRecords();
    const start = performance.now();
    fn(ts);
    const end = performance.now();
    const changed = watch.takeRecords().map((r) => r.target);
    const touched = changed.map(widgetNode).find(Boolean);
    if (!touched) return;
    touched.getBoundingClientRect();  // style + layout of what the redraw changed
    const charts = changed.some((n) => n.closest?.('[data-testid=chart]'));
    p.frames.push({start, script: end - start, layout: performance.now() - end, charts});
  });
  const WS = window.WebSocket;
  window.WebSocket = class extends WS {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        const d = e.data;
        const size = typeof d === 'string' ? d.length : (d.byteLength ?? d.size);
        p.messages.push({at: performance.now(), size});
      });
    }
  };
  new PerformanceObserver((list) => {
    for (const t of list.getEntries()) p.longtasks.push({start: t.startTime, duration: t.duration});
  }).observe({type: 'longtask', buffered: true});
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && e.ctrlKey && p.runAt === null) p.runAt = performance.now();
  }, true);
})();
"""

# Resolves once the whole history is drawn: every row, the charts' paths, the epoch table.
WAIT_COMPLETE_JS = """([rows, epochRows]) => new Promise((resolve) => {
  const p = window.__probe;
  const done = () => {
    const root = document.querySelector('.dltrack-monitor');
    if (!root) return false;
    const n = root.querySelectorAll('[data-testid=training-row]').length;
    const table = root.querySelectorAll('[data-testid=epoch-table] tbody tr').length;
    const canvas = root.querySelector('[data-testid=chart] canvas');
    return n === rows && table === epochRows && canvas !== null;
  };
  const finish = () => {
    p.complete = performance.now();
    requestAnimationFrame(() => setTimeout(() => {
      p.completeFrame = performance.now();
      resolve();
    }));
  };
  if (done()) return finish();
  const obs = new MutationObserver(() => { if (done()) { obs.disconnect(); finish(); } });
  obs.observe(document.body, {subtree: true, childList: true, attributes: true});
})"""

# One click, timed: the synchronous redraw, style + layout, and until the next frame ran.
CLICK_JS = """async (el) => {
  const root = el.closest('.dltrack-monitor');
  const t0 = performance.now();
  el.click();
  const t1 = performance.now();
  root.getBoundingClientRect();
  const t2 = performance.now();
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  return {script: t1 - t0, layout: t2 - t1, to_frame: performance.now() - t0};
}"""


# -- data ------------------------------------------------------------------------------------


def write_history(model_key: str) -> None:
    """50 finished trainings of 1000 epochs each, written through the Store API (no Keras)."""
    from dltrack.wire.keys import new_training_id
    from dltrack.wire.records import EpochRecord

    store = local_store()
    try:
        begin = time.time() - TRAININGS * EPOCHS * 2.0
        for n in range(TRAININGS):
            tid = new_training_id()
            started = begin + n * EPOCHS * 2.0
            params = {"epochs": EPOCHS, "steps": 100, "learning_rate": 0.001 * (n + 1), "seed": n}
            store.start_training(model_key, tid, params, started)
            logs: dict[str, float] = {}
            for e in range(EPOCHS):
                decay = 1.0 / (1.0 + e / (20.0 + n))
                logs = {
                    "loss": 2.0 * decay + 0.01 * (e % 7),
                    "accuracy": 1.0 - 0.9 * decay,
                    "val_loss": 2.1 * decay + 0.02 * (e % 5),
                    "val_accuracy": 0.98 - 0.9 * decay,
                }
                at = started + e * 2.0
                store.write_epoch(model_key, tid, EpochRecord(e, logs, 100, at, at + 1.9))
            store.update_training(
                model_key,
                tid,
                status="completed",
                ended_at=started + EPOCHS * 2.0,
                last_seen=started + EPOCHS * 2.0,
                epochs_done=EPOCHS,
                final_logs=logs,
            )
    finally:
        store.close()


def run_live_training(model_key: str, seconds: float, result: dict[str, Any]) -> None:
    """A real Tracker fed by a plain-Python loop at full speed, an epoch every half second."""
    from dltrack import Tracker

    planned = int(seconds / LIVE_EPOCH_SECONDS) + 1
    tracker = Tracker(model_key, params={"live": True}, handle_interrupt=False)
    tracker.set_params({"epochs": planned, "steps": None, "verbose": 0})
    tracker.on_train_begin()
    batches = 0
    start = time.monotonic()
    for epoch in range(planned):
        tracker.on_epoch_begin(epoch)
        epoch_end = start + (epoch + 1) * LIVE_EPOCH_SECONDS
        step = 0
        while step % 1000 or time.monotonic() < epoch_end:
            tracker.on_train_batch_end(step, {"loss": 1.0 / (batches + 1), "accuracy": 0.5})
            step += 1
            batches += 1
        logs = {"loss": 1.0 / (epoch + 1), "accuracy": 0.5, "val_loss": 1.1 / (epoch + 1)}
        tracker.on_epoch_end(epoch, {**logs, "val_accuracy": 0.45})
    tracker.on_train_end()
    result.update(batches=batches, seconds=time.monotonic() - start, epochs=planned)


# -- measuring -------------------------------------------------------------------------------


def summary(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {
        "n": len(values),
        "p50": round(statistics.median(ordered), 2),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
        "max": round(ordered[-1], 2),
    }


def probe(nb: NotebookPage) -> dict[str, Any]:
    data: dict[str, Any] = nb.page.evaluate("() => window.__probe")
    return data


def clear_probe(nb: NotebookPage) -> float:
    now: float = nb.page.evaluate(
        "() => { const p = window.__probe; p.frames = []; p.longtasks = []; p.messages = [];"
        " return performance.now(); }"
    )
    return now


def click(nb: NotebookPage, locator: Any) -> dict[str, float]:
    timing: dict[str, float] = locator.evaluate(CLICK_JS)
    return {k: round(v, 2) for k, v in timing.items()}


def chart_points(nb: NotebookPage) -> list[int]:
    """Points drawn per chart series in the Charts tab (each legend item counts its own)."""
    points: list[int] = nb.by_testid("charts-tab").evaluate(
        """d => [...d.querySelectorAll('[data-testid=chart] [data-testid=legend-item]')]
          .map(i => Number(i.dataset.points))"""
    )
    return points


def row(nb: NotebookPage, number: int) -> Any:
    return nb.monitor().locator(f'[data-testid="training-row"][data-number="{number}"]')


def test_render_cost_at_50_trainings_of_1000_epochs(
    jupyter_lab: JupyterServer,
    notebook_page: NotebookPage,
    kernel_name: str,
    dltrack_home: Path,
    model_key: str,
) -> None:
    began = time.monotonic()
    write_history(model_key)
    report: dict[str, Any] = {
        "setup": f"{TRAININGS} trainings x {EPOCHS} epochs, 4 metrics; JupyterLab, headless "
        "Chromium; times in ms",
        "store_write_s": round(time.monotonic() - began, 2),
    }
    notebook_page.page.add_init_script(PROBE_JS)
    nb = open_notebook(
        jupyter_lab,
        notebook_page,
        kernel_name,
        [f"%load_ext dltrack\n%dltrack {model_key}"],
        dltrack_home,
    )

    # First render: Ctrl+Enter → the whole history drawn (kernel, transfer, parse, first draw).
    nb.run_cell(0)
    nb.page.evaluate(WAIT_COMPLETE_JS, [TRAININGS, EPOCH_ROWS])
    p = probe(nb)
    big = max(p["messages"], key=lambda m: m["size"])
    window = [t for t in p["longtasks"] if t["start"] >= p["runAt"]]
    report["first_render"] = {
        "run_to_drawn": round(p["complete"] - p["runAt"], 1),
        "run_to_frame": round(p["completeFrame"] - p["runAt"], 1),
        "largest_message_mb": round(big["size"] / 1e6, 2),
        "run_to_largest_message": round(big["at"] - p["runAt"], 1),
        "largest_message_to_drawn": round(p["complete"] - big["at"], 1),
        "long_tasks": len(window),
        "long_task_ms_total": round(sum(t["duration"] for t in window), 1),
        "long_task_ms_max": round(max((t["duration"] for t in window), default=0), 1),
    }
    assert nb.by_testid("training-row").count() == TRAININGS
    points = chart_points(nb)
    assert len(points) == 4  # loss + val_loss, accuracy + val_accuracy
    assert all(100 < n <= MAX_POINTS for n in points), points

    # Select one: each click redraws the details of another 1000-epoch training.
    clear_probe(nb)
    selects = [click(nb, row(nb, n)) for n in (49, 40, 31, 22, 13, 4, 1, 25, 37, 50)]
    expect(nb.by_testid("details")).to_have_attribute(
        "data-training-id", row(nb, 50).get_attribute("data-training-id") or ""
    )
    report["select_one"] = {k: summary([s[k] for s in selects]) for k in selects[0]}

    # Compare 5: the selected training plus four checked, one click each.
    checks = [click(nb, row(nb, n).get_by_test_id("compare-checkbox")) for n in (45, 35, 25, 15)]
    expect(nb.monitor().locator(".dltrack-compare-bar")).to_contain_text("Comparing #50, #45")
    points = chart_points(nb)
    assert len(points) == 5 * 4
    assert all(100 < n <= MAX_POINTS for n in points), points
    report["compare"] = {f"{i + 2}_trainings": c for i, c in enumerate(checks)}

    # All 1000 epoch rows, and back to the last 200.
    toggle = nb.by_testid("epoch-table-toggle")
    show_all = click(nb, toggle)
    expect(nb.by_testid("epoch-table").locator("tbody tr")).to_have_count(EPOCHS)
    show_last = click(nb, toggle)
    expect(nb.by_testid("epoch-table").locator("tbody tr")).to_have_count(EPOCH_ROWS)
    report["epoch_table"] = {"show_all_1000_rows": show_all, "back_to_200": show_last}

    # Live: a training runs at full speed; select it and keep the four others overlaid.
    result: dict[str, Any] = {}
    live = threading.Thread(target=run_live_training, args=(model_key, LIVE_SECONDS, result))
    live.start()
    try:
        newest = row(nb, TRAININGS + 1)
        expect(newest).to_have_attribute("data-status", "running", timeout=UI_TIMEOUT_MS)
        click(nb, newest)
        expect(nb.by_testid("details")).to_have_attribute(
            "data-training-id", newest.get_attribute("data-training-id") or ""
        )
        # Its steps per epoch are unknown (the loop decides): an indeterminate bar that counts.
        current = nb.monitor().locator('[data-testid="epoch-bar"][data-state="current"]')
        expect(current).to_contain_text(" steps", timeout=UI_TIMEOUT_MS)
        since = clear_probe(nb)
        nb.page.wait_for_timeout(int(LIVE_SECONDS * 1000 * 0.6))
        p = probe(nb)
        until: float = nb.page.evaluate("() => performance.now()")
    finally:
        live.join(timeout=LIVE_SECONDS * 4)
    assert not live.is_alive()
    frames = p["frames"]
    arrivals = [m["at"] for m in p["messages"]]
    # A redraw with kernel messages that arrived since the previous one shows new data: from
    # the first of those messages to the end of that redraw's layout. The others are the
    # widget's 1 s clock ticks (elapsed times, "3s ago").
    to_drawn, ticks, previous = [], 0, since
    for f in frames:
        news = [a for a in arrivals if previous < a <= f["start"]]
        drawn = f["start"] + f["script"] + f["layout"]
        if news:
            to_drawn.append(drawn - news[0])
        else:
            ticks += 1
        previous = f["start"]
    seconds = (until - since) / 1000
    report["live_update"] = {
        "training": f"{result.get('batches', 0) / max(result.get('seconds', 1), 1e-9):,.0f} "
        f"batches/s, an epoch every {LIVE_EPOCH_SECONDS:g} s",
        "messages_per_s": round(len(arrivals) / seconds, 1),
        "redraws_per_s": round(len(frames) / seconds, 1),
        "clock_tick_redraws": ticks,
        "script": summary([f["script"] for f in frames]),
        "script_with_charts_redrawn": summary([f["script"] for f in frames if f["charts"]]),
        "script_without": summary([f["script"] for f in frames if not f["charts"]]),
        "layout": summary([f["layout"] for f in frames]),
        "message_to_drawn": summary(to_drawn),
        "seconds_measured": round(seconds, 1),
        "long_tasks_ms": [round(t["duration"]) for t in p["longtasks"] if t["start"] >= since],
    }
    assert frames, "no widget redraw while the training ran"
    assert nb.by_testid("epoch-bar").count() <= BAR_LIMIT
    points = chart_points(nb)
    assert points and all(n <= MAX_POINTS for n in points), points

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "render-cost.json").write_text(json.dumps(report, indent=2) + "\n")
    print("\nrendering cost in the browser:\n" + json.dumps(report, indent=2))
