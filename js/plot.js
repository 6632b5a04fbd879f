// One uPlot chart: draws a chart model from series.js on a canvas, fills its container's width
// (ResizeObserver), zooms by dragging across x (double-click resets), reports the hovered x,
// pins a marker on each series' best epoch, and draws the trainings' events as vertical lines
// (eventmarkers.js). uPlot because it is small (~50 kB minified),
// draws 10 000s of points per frame on a canvas, and has cursor, drag-zoom, synced cursors
// and log scales built in.
import uPlot from "uplot";
import { eventMarkersPlugin } from "./eventmarkers.js";
import { formatDuration, formatMetric } from "./format.js";

const HEIGHT = 180;
// Mid-tone series colours with >= 3:1 contrast on white and near-black; overridable with
// --dltrack-series-0…7 on the widget.
const PALETTE = ["#2f7ed8", "#d9650b", "#2ca02c", "#d62728", "#9467bd", "#0f9bb0", "#b8860b", "#e0449a"];

/** @type {boolean | null} */
let canvasSupport = null;
/** Whether this page can draw on a canvas (test DOMs cannot: the chart is then legend only). */
function canDraw() {
  if (canvasSupport === null) {
    try {
      canvasSupport = Boolean(globalThis.document?.createElement("canvas").getContext?.("2d"));
    } catch {
      canvasSupport = false;
    }
  }
  return canvasSupport;
}

/** The theme's colours, read from the widget's CSS variables (--jp-* in JupyterLab). */
export function themeColours(el) {
  const style = globalThis.getComputedStyle?.(el);
  const read = (name, fallback) => style?.getPropertyValue(name).trim() || fallback;
  return {
    text: read("--dltrack-muted", "#808080"),
    grid: read("--dltrack-border", "rgba(128, 128, 128, 0.35)"),
    font: read("--jp-ui-font-family", "system-ui, sans-serif"),
    series: PALETTE.map((c, i) => read(`--dltrack-series-${i}`, c)),
  };
}

// A log axis leaves its minor ticks unlabelled (null).
const label = (format) => (u, vals) => vals.map((v) => (v === null || v === undefined ? "" : format(v)));
const tickValues = (axis) => (axis === "time" ? label(formatDuration) : undefined);
// Epochs and steps are counts: whole ticks only (1, 2, 5, 10, 20, 25, 50…), never "epoch 1.2".
const WHOLE = Array.from({ length: 12 }, (_, i) => [1, 2, 5].map((m) => m * 10 ** i)).flat().concat([25, 250, 2500]).sort((a, b) => a - b);

/** uPlot's options for a chart model. @returns {any} */
function options(model, { axis, log, width, theme, syncKey, onHover, onDraw, onScale, getMarks, onMarkHover }) {
  const font = `11px ${theme.font}`;
  const axisStyle = { stroke: theme.text, grid: { stroke: theme.grid, width: 1 }, ticks: { stroke: theme.grid, width: 1 }, font, labelFont: font };
  return {
    width,
    height: HEIGHT,
    legend: { show: false },
    plugins: [eventMarkersPlugin(getMarks, onMarkHover)],
    scales: { x: { time: false }, y: log ? { distr: 3, log: 10 } : {} },
    axes: [
      { ...axisStyle, size: 30, label: axis, labelSize: 14, values: tickValues(axis), incrs: axis === "time" ? undefined : WHOLE },
      { ...axisStyle, size: 58, values: label(formatMetric) },
    ],
    cursor: {
      sync: { key: syncKey, setSeries: false },
      drag: { x: true, y: false, setScale: true },
      y: false, // a vertical line only: the values are in the legend
      points: { size: 7 },
    },
    series: [
      { label: axis },
      ...model.series.map((s) => ({
        label: `${s.label} ${s.trainingId}`,
        stroke: theme.series[s.colour % theme.series.length],
        width: s.role === "batch" ? 1 : 2,
        alpha: s.role === "batch" ? 0.5 : 1,
        dash: s.role === "val" ? [6, 4] : undefined,
        spanGaps: true,
        // A series of one point (one epoch so far) is a dot; lines need no dots.
        points: { show: s.drawn.length === 1, size: s.role === "val" ? 6 : 9, fill: theme.series[s.colour % theme.series.length] },
      })),
    ],
    hooks: {
      // The data x nearest the cursor, so the legend reads "epoch 10", not "epoch 9.97".
      setCursor: [(u) => onHover(u.cursor.left >= 0 && u.cursor.idx != null ? u.data[0][u.cursor.idx] : null)],
      setScale: [(u, key) => key === "x" && onScale(u)],
      draw: [(u) => onDraw(u)],
    },
  };
}

/**
 * A plot inside `el`. `update(model, {axis, log, theme})` draws a chart model; hovering calls
 * `onHover(x | null)`, hovering an event marker `onMarkHover(its names | null)`. Data-only changes keep the zoom; a new set of series rebuilds the plot.
 */
export function createPlot(el, { syncKey, onHover, onMarkHover }) {
  /** @type {uPlot | null} */
  let u = null;
  /** @type {any} */
  let model = null;
  let shape = "";
  let zoomed = false;
  const markers = new Map();

  const width = () => Math.max(200, Math.floor(el.clientWidth || 600));
  const resize = globalThis.ResizeObserver
    ? new ResizeObserver(() => {
        if (u && width() !== u.width) u.setSize({ width: width(), height: HEIGHT });
      })
    : null;
  resize?.observe(el);

  function onScale(plot) {
    const xs = plot.data[0];
    const { min, max } = plot.scales.x;
    if (xs.length > 1) zoomed = min > xs[0] + 1e-9 || max < xs[xs.length - 1] - 1e-9;
    el.setAttribute("data-x-min", String(min));
    el.setAttribute("data-x-max", String(max));
    el.setAttribute("data-zoomed", String(zoomed));
  }

  function onDraw(plot) {
    // Best-epoch markers: DOM elements over the canvas, so they can carry a tooltip.
    const keep = new Set();
    for (const b of model?.best ?? []) {
      keep.add(b.key);
      let m = markers.get(b.key);
      if (!m) {
        m = document.createElement("span");
        m.className = "dltrack-best-marker";
        m.setAttribute("data-testid", "best-marker");
        plot.over.append(m);
        markers.set(b.key, m);
      }
      const series = model.series.find((s) => s.key === b.key);
      const left = b.x === null ? NaN : plot.valToPos(b.x, "x");
      const top = plot.valToPos(b.y, "y");
      // uPlot sizes the overlay in its style: reading that forces no layout, clientWidth would.
      const inside = left >= 0 && left <= parseFloat(plot.over.style.width) && top >= 0 && top <= parseFloat(plot.over.style.height);
      m.hidden = !inside;
      m.style.left = `${left}px`;
      m.style.top = `${top}px`;
      m.style.borderColor = plot.series[model.series.indexOf(series) + 1]?.stroke?.() ?? "";
      m.setAttribute("data-series", b.key);
      m.setAttribute("data-epoch", String(b.epoch));
      m.title = `best ${b.metric} ${formatMetric(b.y)} (${b.goal}) at epoch ${b.epoch}`;
    }
    for (const [key, m] of markers) {
      if (!keep.has(key)) {
        m.remove();
        markers.delete(key);
      }
    }
  }

  function update(next, { axis, log, theme }) {
    model = next;
    if (!canDraw()) return;
    const nextShape = JSON.stringify([axis, log, theme, next.series.map((s) => [s.key, s.colour, s.role, s.drawn.length === 1])]);
    if (u === null || nextShape !== shape) {
      u?.destroy();
      markers.clear();
      shape = nextShape;
      zoomed = false;
      const getMarks = () => model?.marks ?? [];
      u = new uPlot(options(next, { axis, log, width: width(), theme, syncKey, onHover, onDraw, onScale, getMarks, onMarkHover }), next.data, el);
      // The width was read now, maybe mid-restyle (a theme switch swaps stylesheets): observing
      // anew delivers the settled size after the next layout, and setSize follows it.
      resize?.unobserve(el);
      resize?.observe(el);
      el.setAttribute("data-y-scale", log ? "log" : "linear");
      el.setAttribute("data-theme", theme.text); // the axis colour drawn (the browser tests)
      return;
    }
    // New points: follow them unless the user zoomed in.
    u.setData(next.data, !zoomed);
  }

  function destroy() {
    resize?.disconnect();
    u?.destroy();
    u = null;
  }
  return { update, destroy };
}
