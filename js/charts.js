// The charts of the details panel: a toolbar (x axis, smoothing, log scale) and one chart per
// metric (its val_ twin and, for loss, the per-batch loss overlaid), several trainings in
// compare mode, with a legend grouped by training that shows every series' value under the
// cursor (or the latest) and its best epoch. The choices live in the synced `ui_state` trait.
import { h, reconcile, setAttr, setText, show } from "./dom.js";
import { formatDuration, formatMetric } from "./format.js";
import { createPlot, themeColours } from "./plot.js";
import { AXES, axisKey, chartModel, valuesAt } from "./series.js";

/** Keys of the chart choices in the `ui_state` trait (docs/widget-state.md). */
export const PREFS = { axis: "axis", smoothing: "smoothing", log: "log", goals: "goals" };

let views = 0;

const clampSmoothing = (v) => (typeof v === "number" && Number.isFinite(v) ? Math.min(Math.max(v, 0), 0.99) : 0);

/** The user's chart choices from the prefs, each checked. */
export function chartChoices(prefs) {
  const goals = prefs.get(PREFS.goals);
  return {
    axis: axisKey(prefs.get(PREFS.axis)),
    smoothing: clampSmoothing(prefs.get(PREFS.smoothing)),
    log: prefs.get(PREFS.log) === true,
    goals: goals !== null && typeof goals === "object" ? goals : {},
  };
}

const formatX = (axis, x) => (x === null ? "" : axis === "time" ? formatDuration(x) : formatMetric(Math.round(x * 100) / 100));

function createToolbar(prefs, signal, onChange) {
  const axis = h("select", { class: "dltrack-input", testid: "chart-axis", "aria-label": "x axis" },
    AXES.map((a) => h("option", { value: a.key, text: a.label })));
  const smoothing = h("input", { type: "range", min: 0, max: 0.99, step: 0.01, testid: "chart-smoothing", "aria-label": "smoothing" });
  const smoothingValue = h("span", { class: "dltrack-chart-smoothing-value" });
  const log = h("input", { type: "checkbox", testid: "chart-log" });
  axis.addEventListener("change", () => onChange(PREFS.axis, axis.value), { signal });
  // Dragging redraws at each step; the kernel is told once, when the slider is let go.
  smoothing.addEventListener("input", () => onChange(PREFS.smoothing, Number(smoothing.value), false), { signal });
  smoothing.addEventListener("change", () => onChange(PREFS.smoothing, Number(smoothing.value)), { signal });
  log.addEventListener("change", () => onChange(PREFS.log, log.checked), { signal });
  const el = h("div", { class: "dltrack-chart-tools", testid: "chart-tools" }, [
    h("label", {}, ["x ", axis]),
    h("label", {}, ["smoothing ", smoothing, smoothingValue]),
    h("label", {}, [log, " log scale"]),
  ]);
  function update(choices) {
    if (axis.value !== choices.axis) axis.value = choices.axis;
    if (smoothing.value !== String(choices.smoothing)) smoothing.value = String(choices.smoothing);
    setText(smoothingValue, choices.smoothing.toFixed(2));
    if (log.checked !== choices.log) log.checked = choices.log;
  }
  update(chartChoices(prefs));
  return { el, update };
}

function createLegendRow(group) {
  const swatch = h("span", { class: "dltrack-swatch" });
  const label = h("span", { class: "dltrack-legend-training" });
  const items = h("span", { class: "dltrack-legend-items" });
  const el = h("div", { class: "dltrack-legend-row", testid: "legend-training", "data-training-id": group.trainingId }, [swatch, label, items]);
  return { el, swatch, label, items, entries: new Map() };
}

function createLegendItem() {
  const swatch = h("span", { class: "dltrack-swatch" });
  const name = h("span", { class: "dltrack-legend-name" });
  const value = h("span", { class: "dltrack-legend-value", testid: "legend-value" });
  const best = h("span", { class: "dltrack-legend-best", testid: "legend-best" });
  return { el: h("span", { class: "dltrack-legend-item", testid: "legend-item" }, [swatch, name, value, best]), swatch, name, value, best };
}

function createChart(group, syncKey) {
  const title = h("span", { class: "dltrack-chart-title", text: group.key });
  const cursor = h("span", { class: "dltrack-chart-cursor", testid: "hover-x" });
  // The names of the event marker under the pointer (its tooltip says the same).
  const eventHover = h("span", { class: "dltrack-chart-event", testid: "event-hover", role: "status" });
  const plotEl = h("div", { class: "dltrack-plot", testid: "plot" });
  const legend = h("div", { class: "dltrack-legend", testid: "chart-legend" });
  const el = h("figure", { class: "dltrack-chart", testid: "chart", "data-metric": group.key }, [
    h("figcaption", { class: "dltrack-chart-head" }, [title, cursor, eventHover]),
    plotEl,
    legend,
  ]);
  const chart = { el, cursor, legend, rows: new Map(), model: null, choices: null, signature: null };
  chart.plot = createPlot(plotEl, {
    syncKey,
    onHover: (x) => drawLegend(chart, x),
    onMarkHover: (label) => setText(eventHover, label === null ? "" : label.replaceAll("\n", "; ")),
  });
  return chart;
}

function drawLegend(chart, x) {
  const { model, choices } = chart;
  if (!model) return;
  setText(chart.cursor, x === null ? "" : `${AXES.find((a) => a.key === choices.axis)?.label ?? choices.axis} ${formatX(choices.axis, x)}`);
  const values = valuesAt(model, x);
  const best = new Map(model.best.map((b) => [b.key, b]));
  const byKey = new Map(model.series.map((s) => [s.key, s]));
  reconcile(chart.legend, chart.rows, model.legend, (g) => g.trainingId, createLegendRow, (row, group) => {
    setAttr(row.swatch, "class", `dltrack-swatch dltrack-series-${group.colour}`);
    // One training: no name or swatch to tell it apart from others.
    show(row.swatch, model.legend.length > 1);
    setText(row.label, model.legend.length > 1 ? group.label : "");
    const items = group.items.map((key) => byKey.get(key));
    reconcile(row.items, row.entries, items, (s) => s.key, createLegendItem, (item, s) => {
      setAttr(item.el, "data-series", s.key);
      setAttr(item.el, "data-role", s.role);
      setAttr(item.el, "data-points", s.drawn.length);
      setAttr(item.swatch, "class", `dltrack-swatch dltrack-series-${s.colour} dltrack-swatch-${s.role}`);
      setText(item.name, s.label);
      const v = values[s.key];
      setText(item.value, v.raw !== null && v.value !== null ? `${formatMetric(v.value)} (raw ${formatMetric(v.raw)})` : formatMetric(v.value));
      const b = best.get(s.key);
      show(item.best, Boolean(b));
      if (b) setText(item.best, `best ${formatMetric(b.y)} @ epoch ${b.epoch}`);
    });
  });
}

function signatureOf(trainings, choices, compare, withBatches) {
  const parts = trainings.map((t) => {
    const last = t.epochs.at(-1);
    // Only the loss chart draws the per-batch curve: the others skip its ~10 updates a second.
    const steps = withBatches ? t.batches?.step : null;
    // A new event moves no line but adds a marker.
    const events = Array.isArray(t.events) ? `${t.events.length}:${t.events.at(-1)?.id}` : "";
    return `${t.training_id}:${t.number}:${t.epochs.length}:${last?.epoch}:${JSON.stringify(last?.logs)}:${steps?.length}:${steps?.at?.(-1)}:${events}`;
  });
  return `${JSON.stringify(choices)}|${compare}|${parts.join("|")}`;
}

/**
 * The charts for `groups` (from metricGroups) over `trainings`. `prefs` ({get, set}) holds
 * the user's choices; `refresh` redraws after one changed.
 */
export function createCharts({ prefs, refresh, signal }) {
  const syncKey = `dltrack-${++views}`;
  const toolbar = createToolbar(prefs, signal, (name, value, save = true) => {
    prefs.set(name, value, save);
    refresh();
  });
  const list = h("div", { class: "dltrack-charts" });
  const el = h("div", { class: "dltrack-chart-panel" }, [toolbar.el, list]);
  const charts = new Map();
  // Reading computed style forces a style recalculation: do it once, and again only when the
  // host's theme may have changed (JupyterLab marks its theme on <body>).
  /** @type {ReturnType<typeof themeColours> | null} */
  let theme = null;
  const themeChanged = () => {
    if (theme === null || !el.isConnected) return;
    const next = themeColours(el);
    if (JSON.stringify(next) === JSON.stringify(theme)) return;
    theme = next;
    refresh(); // repaint the canvases now, not at the next update
  };
  const themeWatch = globalThis.MutationObserver ? new MutationObserver(themeChanged) : null;
  for (const node of [globalThis.document?.documentElement, globalThis.document?.body]) {
    if (node) themeWatch?.observe(node, { attributes: true, attributeFilter: ["class", "style", "data-jp-theme-name", "data-jp-theme-light"] });
  }
  const media = globalThis.matchMedia?.("(prefers-color-scheme: dark)");
  media?.addEventListener?.("change", themeChanged, { signal });
  signal?.addEventListener("abort", () => {
    themeWatch?.disconnect();
    for (const chart of charts.values()) chart.plot.destroy();
  });

  function update(groups, trainings, compare) {
    const choices = chartChoices(prefs);
    toolbar.update(choices);
    // Not in the page yet (a host may render first, attach later): fallbacks, read again later.
    const current = theme ?? themeColours(el);
    if (el.isConnected) theme = current;
    const keys = new Set(groups.map((g) => g.key));
    for (const [key, chart] of charts) if (!keys.has(key)) chart.plot.destroy();
    reconcile(list, charts, groups, (g) => g.key, (g) => createChart(g, syncKey), (chart, group) => {
      const signature = `${signatureOf(trainings, choices, compare, group.train === "loss")}|${group.train}|${group.val}|${JSON.stringify(current)}`;
      if (chart.signature === signature) return;
      chart.signature = signature;
      chart.choices = choices;
      chart.model = chartModel(group, trainings, { ...choices, compare });
      chart.plot.update(chart.model, { axis: choices.axis, log: choices.log, theme: current });
      drawLegend(chart, null);
    });
  }
  return { el, update };
}
