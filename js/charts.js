// SVG line charts: one per metric (its val_ twin overlaid), several trainings in compare mode,
// and the per-batch loss sparkline of the current epoch. Redrawn only when their data changed.
import { extent, indexed, layoutSeries, xAxisLabels } from "./chart.js";
import { h, reconcile, s, setAttr, setText, show } from "./dom.js";
import { formatMetric } from "./format.js";
import { trainingLabel } from "./state.js";

const WIDTH = 600;
const HEIGHT = 160;
/** Points drawn per series at most; 1000+ epochs are decimated keeping each bucket's extremes. */
export const MAX_POINTS = 300;
const PALETTE_SIZE = 8;

/** The series of one chart: per training its training metric and its val_ twin. */
function chartSeries(group, trainings, compare) {
  const series = [];
  trainings.forEach((t, i) => {
    for (const [role, metric] of [["train", group.train], ["val", group.val]]) {
      if (!metric) continue;
      const points = t.epochs.map((e) => [e.epoch + 1, e.logs?.[metric]]);
      const colour = compare ? i % PALETTE_SIZE : role === "train" ? 0 : 1;
      series.push({
        key: `${t.training_id}:${metric}`,
        label: compare ? `${trainingLabel(t)} ${metric}` : metric,
        className: `dltrack-series dltrack-series-${colour} dltrack-series-${role}`,
        points,
      });
    }
  });
  return series;
}

function signatureOf(series) {
  return series
    .map((x) => {
      const last = x.points.at(-1);
      return `${x.key}:${x.className}:${x.points.length}:${last?.[0]}:${last?.[1]}`;
    })
    .join("|");
}

function createChart(group) {
  const title = h("span", { class: "dltrack-chart-title" });
  const legend = h("span", { class: "dltrack-legend" });
  const svg = s("svg", {
    class: "dltrack-chart-svg",
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    preserveAspectRatio: "none",
    role: "img",
  });
  const grid = s("g", { class: "dltrack-grid" }, [0.25, 0.5, 0.75].map((f) =>
    s("line", { x1: 0, x2: WIDTH, y1: HEIGHT * f, y2: HEIGHT * f }),
  ));
  const lines = s("g", { class: "dltrack-lines" });
  svg.append(grid, lines);
  const yMax = h("span", { class: "dltrack-axis-y-max" });
  const yMin = h("span", { class: "dltrack-axis-y-min" });
  const xMin = h("span");
  const xMid = h("span", { text: "epoch" });
  const xMax = h("span");
  const el = h("figure", { class: "dltrack-chart", testid: "chart", "data-metric": group.key }, [
    h("figcaption", { class: "dltrack-chart-head" }, [title, legend]),
    h("div", { class: "dltrack-chart-body" }, [h("div", { class: "dltrack-axis-y" }, [yMax, yMin]), svg]),
    h("div", { class: "dltrack-axis-x" }, [xMin, xMid, xMax]),
  ]);
  return { el, title, legend, svg, lines, yMax, yMin, xMin, xMid, xMax, paths: new Map(), keys: new Map(), signature: null };
}

function drawChart(chart, group, series) {
  const signature = signatureOf(series);
  if (chart.signature === signature) return;
  chart.signature = signature;
  setText(chart.title, group.key);
  setAttr(chart.svg, "aria-label", `${group.key} by epoch`);
  const layout = layoutSeries(
    series.map((x) => x.points),
    { width: WIDTH, height: HEIGHT, inset: 3, maxPoints: MAX_POINTS },
  );
  // A series of one point (one epoch so far) is a dot: a line needs two.
  const drawn = series.map((x, i) => ({
    ...x,
    d: layout.paths[i],
    className: layout.sizes[i] === 1 ? `${x.className} dltrack-series-dot` : x.className,
  }));
  reconcile(chart.lines, chart.paths, drawn, (x) => x.key, () => {
    const label = s("title");
    return { el: s("path", { "vector-effect": "non-scaling-stroke", fill: "none" }, [label]), label };
  }, (entry, x) => {
    setAttr(entry.el, "class", x.className);
    setAttr(entry.el, "d", x.d || null);
    setText(entry.label, x.label);
  });
  reconcile(chart.legend, chart.keys, drawn, (x) => x.key, () => {
    const swatch = h("span", { class: "dltrack-swatch" });
    const text = h("span");
    return { el: h("span", { class: "dltrack-legend-item" }, [swatch, text]), swatch, text };
  }, (entry, x) => {
    setAttr(entry.swatch, "class", `dltrack-swatch ${x.className}`);
    setText(entry.text, x.label);
  });
  const { yDomain } = layout;
  setText(chart.yMax, yDomain ? formatMetric(yDomain.max) : "");
  setText(chart.yMin, yDomain ? formatMetric(yDomain.min) : "");
  const x = xAxisLabels(layout.xRange);
  setText(chart.xMin, x.min);
  setText(chart.xMid, x.mid);
  setText(chart.xMax, x.max);
}

/** The charts for `groups` (from metricGroups) over `trainings`; compare mode colours by training. */
export function createCharts() {
  const el = h("div", { class: "dltrack-charts" });
  const charts = new Map();
  function update(groups, trainings, compare) {
    reconcile(el, charts, groups, (g) => g.key, createChart, (chart, group) =>
      drawChart(chart, group, chartSeries(group, trainings, compare)),
    );
  }
  return { el, update };
}

/** The per-batch loss of the current epoch, as a small line. */
export function createSparkline() {
  const caption = h("span", { class: "dltrack-chart-title" });
  const range = h("span", { class: "dltrack-spark-range" });
  const path = s("path", { class: "dltrack-series dltrack-series-0", fill: "none", "vector-effect": "non-scaling-stroke" });
  const svg = s("svg", { class: "dltrack-spark-svg", viewBox: `0 0 ${WIDTH} 40`, preserveAspectRatio: "none", "aria-hidden": "true" }, [path]);
  const el = h("figure", { class: "dltrack-sparkline", testid: "batch-loss", hidden: true }, [
    h("figcaption", { class: "dltrack-chart-head" }, [caption, range]),
    svg,
  ]);
  /** @type {string | null} */
  let signature = null;
  function update(training) {
    const values = training?.current ? training.batch_losses : [];
    show(el, values.length > 1);
    const next = `${training?.training_id}:${training?.current?.epoch}:${values.length}:${values.at(-1)}`;
    if (values.length < 2 || next === signature) return;
    signature = next;
    setText(caption, `batch loss · epoch ${training.current.epoch + 1}`);
    const layout = layoutSeries([indexed(values)], { width: WIDTH, height: 40, inset: 2, maxPoints: MAX_POINTS });
    setAttr(path, "d", layout.paths[0] || null);
    const bounds = extent(values);
    setText(range, bounds ? `${formatMetric(bounds.min)} – ${formatMetric(bounds.max)}` : "");
  }
  return { el, update };
}
