"""What the uPlot charts cost the browser: 4 trainings x 30 epochs compared, the newest one live
with a per-batch loss curve of 10 000 points, in headless Chromium (docs/front-end.md shows the
figures). A measurement, not a test.

    .venv/bin/python -m bench.render_cost [--updates 200] [--batches 10000]   (`make js` first)

The built bundle (dltrack_widget/static/) is served to a blank page and mounted with a stand-in
anywidget model (no Jupyter: the cost measured is the widget's). A probe wraps
`requestAnimationFrame`: each widget redraw is timed from the frame callback's start to the end
of the microtasks it queued (uPlot draws the canvas in one), then a forced layout times style +
layout. Live updates are new `state` objects as the kernel sends them (one more batch sample,
the step moved); hovering is 200 mouse moves across the loss chart, each timed around its
synchronous `dispatchEvent` (uPlot's cursor and the legend update in the handler).
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "dltrack_widget" / "static"
OUT = ROOT / "test-artifacts" / "chart-render-cost.json"
ORIGIN = "http://dltrack.bench"

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/widget.css"></head>
<body style="margin:0;width:1200px"><div id="out"></div>
<script type="module">
import widget from "/widget.js";
const NOW = 1700000000, EPOCHS = 30, BATCHES = Number(location.hash.slice(1)), STEPS = 100;
const epochs = (run) => Array.from({length: EPOCHS}, (_, e) => {
  const d = 1 / (1 + e / (3 + run));
  const at = NOW - 9000 + e * 10;
  return {epoch: e, steps: STEPS, started_at: at, ended_at: at + 9,
    logs: {loss: 2 * d, val_loss: 2.2 * d + 0.02 * (e % 4), accuracy: 1 - d / 2,
           val_accuracy: 0.95 - d / 2}};
});
const batches = (n) => {
  const c = {epoch: [], step: [], time: [], loss: []};
  for (let i = 0; i < n; i++) {
    c.epoch.push(i / STEPS); c.step.push(i + 1); c.time.push(i * 0.09);
    c.loss.push(2 / (1 + i / 400) + 0.1 * Math.sin(i / 3));
  }
  return c;
};
const training = (run, extra) => ({training_id: String(run).padStart(16, "0"), number: run,
  status: "completed", started_at: NOW - 9000, ended_at: NOW - 8700, last_seen: NOW - 8700,
  params: {epochs: EPOCHS, steps: STEPS, run}, epochs_planned: EPOCHS, epochs_done: EPOCHS,
  final_logs: {}, stop: null, reason: null, epochs: epochs(run), current: null,
  ...extra});
const state = (i) => ({model: {key: "k", name: "bench"}, connection: {status: "live"},
  error: null, now: NOW + i / 10, commands: [],
  trainings: [training(4, {status: "running", ended_at: null, epochs_planned: 200,
    current: {epoch: 30, step: i % STEPS, steps: STEPS, logs: {loss: 0.2},
              epoch_started_at: NOW - 5, rate: 10},
    batches: BATCHES ? batches(BATCHES + i) : null}), training(3), training(2), training(1)]});
const listeners = new Map(), values = {state: state(0), history: {}, ui: {}};
const model = {get: (n) => values[n], send() {}, save_changes() {},
  on(e, f) { (listeners.get(e) ?? listeners.set(e, new Set()).get(e)).add(f); },
  off(e, f) { listeners.get(e)?.delete(f); },
  set(n, v) { values[n] = v; for (const f of listeners.get(`change:${n}`) ?? []) f(); }};
const p = (window.__probe = {frames: [], model, state});
const raf = window.requestAnimationFrame.bind(window);
window.requestAnimationFrame = (fn) => raf((ts) => {
  const t0 = performance.now();
  fn(ts);
  queueMicrotask(() => queueMicrotask(() => {
    const t1 = performance.now();
    document.body.getBoundingClientRect();
    p.frames.push({script: t1 - t0, layout: performance.now() - t1});
  }));
});
const t0 = performance.now();
widget.render({model, el: document.getElementById("out")});
await new Promise((r) => raf(() => setTimeout(r, 0)));
p.mount = performance.now() - t0;
window.__ready = true;
</script></body></html>"""

COMPARE_JS = """async () => {
  const t0 = performance.now();
  const boxes = [...document.querySelectorAll('[data-testid=compare-checkbox]')];
  for (const box of boxes.slice(1)) box.click();
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  return performance.now() - t0;
}"""

UPDATES_JS = """async (n) => {
  const p = window.__probe;
  const states = Array.from({length: n}, (_, i) => p.state(i + 1));  // built before timing
  p.frames = [];
  for (const s of states) {
    p.model.set('state', s);
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  }
  return p.frames.filter((f) => f.script > 0.05);
}"""

HOVER_JS = """() => {
  const over = document.querySelector('[data-testid=chart][data-metric=loss] .u-over');
  const box = over.getBoundingClientRect();
  const out = [];
  for (let i = 0; i < 200; i++) {
    const x = box.left + (i + 0.5) * box.width / 200, y = box.top + box.height / 2;
    const t0 = performance.now();
    over.dispatchEvent(new MouseEvent('mousemove', {clientX: x, clientY: y, bubbles: true}));
    const t1 = performance.now();
    document.body.getBoundingClientRect();
    out.push({script: t1 - t0, layout: performance.now() - t1});
  }
  return out;
}"""

CLICK_JS = """async (sel) => {
  const el = document.querySelector(sel);
  const t0 = performance.now();
  if (el.tagName === 'SELECT') { el.value = 'step'; el.dispatchEvent(new Event('change')); }
  else el.click();
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  return performance.now() - t0;
}"""


def summary(values: list[float]) -> dict[str, float | int]:
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered), 2),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
        "max": round(ordered[-1], 2),
    }


def trait_size() -> int:
    """Bytes of a full per-batch curve (the reducer's bound) in the `state` trait's JSON."""
    from dltrack.viewing import batches as b

    series = b.BatchSeries()
    for i in range(100_000):
        series = b.add(series, (i / 100, i + 1, i * 0.09, 2 / (1 + i / 4000)))
    return len(json.dumps(b.to_json(series)))


def measure(updates: int, samples: int) -> dict[str, Any]:
    from playwright.sync_api import Route, sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not installed (tools/setup.sh --test installs it)")
    if not (STATIC / "widget.js").exists():
        raise SystemExit("the front end is not built: run `make js`")

    def serve(route: Route) -> None:
        path = route.request.url.removeprefix(ORIGIN)
        if path.split("#")[0] in ("/", "/index.html"):
            route.fulfill(body=PAGE, content_type="text/html")
        elif path in ("/widget.js", "/widget.css"):
            kind = "text/javascript" if path.endswith(".js") else "text/css"
            route.fulfill(body=(STATIC / path[1:]).read_bytes(), content_type=kind)
        else:
            route.fulfill(status=404)

    bundle = (STATIC / "widget.js").read_bytes()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.route(f"{ORIGIN}/**", serve)
        page.goto(f"{ORIGIN}/#{samples}")
        page.wait_for_function("window.__ready === true", timeout=60_000)
        report: dict[str, Any] = {
            "setup": f"4 trainings x 30 epochs compared, the newest live with {samples} batch "
            "samples; headless Chromium, 1280 px; times in ms",
            "chromium": browser.version,
            "bundle_kb": round(len(bundle) / 1024, 1),
            "bundle_gzip_kb": round(len(gzip.compress(bundle)) / 1024, 1),
            "batch_curve_trait_kb": round(trait_size() / 1024, 1),
            "first_render_ms": round(page.evaluate("() => window.__probe.mount"), 1),
            "compare_4_ms": round(page.evaluate(COMPARE_JS), 1),
        }
        points = page.evaluate(
            "() => [...document.querySelectorAll('[data-testid=legend-item]')]"
            ".map(i => Number(i.dataset.points))"
        )
        report["points_per_series_max"] = max(points)
        frames = page.evaluate(UPDATES_JS, updates)
        report["live_update"] = {
            "script": summary([f["script"] for f in frames]),
            "layout": summary([f["layout"] for f in frames]),
        }
        moves = page.evaluate(HOVER_JS)
        report["hover_move"] = {
            "script": summary([m["script"] for m in moves]),
            "layout": summary([m["layout"] for m in moves]),
        }
        report["log_scale_click_ms"] = round(page.evaluate(CLICK_JS, "[data-testid=chart-log]"), 1)
        report["axis_change_ms"] = round(page.evaluate(CLICK_JS, "[data-testid=chart-axis]"), 1)
        report["page_errors"] = errors
        browser.close()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=200, help="live updates to time")
    parser.add_argument("--batches", type=int, default=10_000, help="per-batch samples (0: none)")
    args = parser.parse_args()
    report = measure(args.updates, args.batches)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
