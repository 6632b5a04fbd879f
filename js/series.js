// What one chart shows, from the trainings and the user's chart choices: its series (per
// training the metric, its val_ twin and, on the loss chart, the per-batch loss), each placed
// on the chosen x axis, smoothed, decimated, plus the best epoch of each series and the legend
// grouped by training. Pure: no DOM, no clock; plot.js draws it with uPlot.
import { eventMarks } from "./events.js";
import { alignSeries, bestGoal, bestIndex, decimate, finitePoints, nearestIndex, smooth } from "./chart.js";
import { plannedSteps } from "./steps.js";
import { trainingLabel } from "./state.js";

/** The x axes a user can choose: epochs, global steps (batches since the start), wall time. */
export const AXES = [
  { key: "epoch", label: "epoch" },
  { key: "step", label: "step" },
  { key: "time", label: "time" },
];
export const PALETTE_SIZE = 8;
/** Points one series may keep: enough for a 4K-wide chart, few enough to redraw in a frame. */
export const MAX_POINTS = 2000;

const isFiniteNumber = (x) => typeof x === "number" && Number.isFinite(x);
const isCount = (x) => Number.isInteger(x) && x >= 0;

/** A valid axis key: the user's choice, else "epoch". */
export const axisKey = (key) => (AXES.some((a) => a.key === key) ? key : "epoch");

/**
 * x of each finished epoch on `axis`, in the epochs' order: the 1-based epoch (its end),
 * the global step at its end, or seconds from the training's start to its end; null unknown.
 */
export function epochXs(training, axis) {
  const epochs = training.epochs;
  if (axis === "time") {
    const t0 = training.started_at;
    return epochs.map((e) => (isFiniteNumber(e.ended_at) && isFiniteNumber(t0) ? e.ended_at - t0 : null));
  }
  if (axis === "step") {
    // A record's steps are the batches done (a stopped epoch has fewer than planned).
    const planned = plannedSteps(training);
    let total = 0;
    return epochs.map((e) => {
      const steps = isCount(e.steps) ? e.steps : planned;
      total = total === null || steps === null ? null : total + steps;
      return total;
    });
  }
  return epochs.map((e) => e.epoch + 1);
}

/** The training's per-batch loss ([x, loss] points) on `axis`, from its `batches` columns. */
export function batchPoints(training, axis) {
  const columns = training.batches;
  if (columns === null || typeof columns !== "object" || !Array.isArray(columns.loss)) return [];
  const xs = columns[axisKey(axis)];
  if (!Array.isArray(xs)) return [];
  return finitePoints(columns.loss.map((loss, i) => [xs[i], loss]));
}

function metricPoints(training, xs, metric) {
  return finitePoints(training.epochs.map((e, i) => [xs[i], e.logs?.[metric]]));
}

const byX = (points) => {
  for (let i = 1; i < points.length; i++) if (points[i][0] < points[i - 1][0]) return points.slice().sort((a, b) => a[0] - b[0]);
  return points;
};

/**
 * The chart of one metric group ({key, train, val} from metricGroups) over `trainings`.
 * Options: axis, smoothing (EMA weight), log (drop values ≤ 0, which a log axis cannot show),
 * compare (one colour per training; otherwise all in the first colour), goals (best-epoch
 * overrides by metric name), maxPoints. Returns {series, best, legend, marks, data}: `marks` the
 * trainings' events on this axis (events.js), `data` uPlot's aligned data, one column per
 * series in `series` order.
 */
export function chartModel(group, trainings, { axis = "epoch", smoothing = 0, log = false, compare = false, goals = {}, maxPoints = MAX_POINTS } = {}) {
  const series = [];
  const best = [];
  const legend = [];
  trainings.forEach((t, i) => {
    const colour = compare ? i % PALETTE_SIZE : 0;
    const xs = epochXs(t, axis);
    const items = [];
    const roles = [["train", group.train], ["val", group.val]];
    if (group.key === "loss" && group.train === "loss") roles.push(["batch", "loss"]);
    for (const [role, metric] of roles) {
      if (!metric) continue;
      let raw = byX(role === "batch" ? batchPoints(t, axis) : metricPoints(t, xs, metric));
      if (log) raw = raw.filter((p) => p[1] > 0);
      if (raw.length === 0) continue;
      const key = `${t.training_id}:${role}:${metric}`;
      items.push(key);
      series.push({
        key,
        trainingId: t.training_id,
        role,
        metric,
        label: role === "batch" ? "loss per batch" : metric,
        colour,
        drawn: decimate(smooth(raw, smoothing), maxPoints),
        raw: smoothing > 0 ? decimate(raw, maxPoints) : null,
      });
      if (role === "batch") continue;
      const goal = bestGoal(metric, goals);
      // The best over the epochs themselves, never over smoothed values.
      const all = t.epochs.map((e, j) => [xs[j], e.logs?.[metric], e.epoch]);
      const at = bestIndex(all.map(([, y]) => [0, y]), goal);
      if (at >= 0) best.push({ key, trainingId: t.training_id, metric, goal, x: all[at][0], y: all[at][1], epoch: all[at][2] + 1 });
    }
    if (items.length > 0) legend.push({ trainingId: t.training_id, label: trainingLabel(t), colour, items });
  });
  const marks = eventMarks(trainings, axis);
  const drawn = series.map((s) => s.drawn);
  // Marks past the last point (an epoch that went NaN, a command after the last epoch) widen the
  // x axis to show them: an empty row there, which the lines span.
  // Each series is sorted by x: its last point is its largest.
  const last = drawn.reduce((m, points) => (points.length ? Math.max(m, points[points.length - 1][0]) : m), -Infinity);
  const beyond = drawn.length > 0 ? marks.filter((m) => m.x > last).map((m) => m.x) : [];
  return { series, best, legend, marks, data: alignSeries(drawn, beyond) };
}

/**
 * Each series' value at x (the nearest point of that series), or its last value when x is
 * null: {key: {value, raw}} with `raw` the unsmoothed value when smoothing is on.
 */
export function valuesAt(model, x) {
  const out = {};
  for (const s of model.series) {
    const pick = (points) => {
      if (!points || points.length === 0) return null;
      const i = x === null ? points.length - 1 : nearestIndex(points, x);
      return points[i];
    };
    const drawn = pick(s.drawn);
    out[s.key] = { x: drawn?.[0] ?? null, value: drawn?.[1] ?? null, raw: s.raw ? pick(s.raw)?.[1] ?? null : null };
  }
  return out;
}
