// Pure helpers for the charts: extents, decimation, smoothing, best epochs, hover look-ups and
// aligning several series on one x array (what uPlot draws). No DOM, no clock.
// A point is a two-element array [x, y]; non-finite values are gaps and are dropped.

const isFiniteNumber = (x) => typeof x === "number" && Number.isFinite(x);

/** Points with a finite x and y only. */
export function finitePoints(points) {
  return points.filter((p) => isFiniteNumber(p[0]) && isFiniteNumber(p[1]));
}

/** Min and max of the finite values, or null when there are none. */
export function extent(values) {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!isFiniteNumber(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min > max ? null : { min, max };
}

/**
 * At most `maxPoints` points, keeping the shape: the points are cut into buckets and each bucket
 * keeps its lowest and highest point, in x order, so spikes survive. First and last points stay.
 * (Largest-triangle-three-buckets looks smoother but may drop a one-batch spike, the very
 * thing a loss curve must show.)
 */
export function decimate(points, maxPoints) {
  // Fewer than 4 cannot hold the first, the last and one bucket's low and high.
  const limit = Math.max(4, Math.floor(maxPoints));
  if (points.length <= limit) return points.slice();
  const inner = points.slice(1, -1);
  const buckets = Math.floor((limit - 2) / 2);
  const size = inner.length / buckets;
  const out = [points[0]];
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor(b * size);
    const end = Math.min(inner.length, Math.floor((b + 1) * size));
    if (start >= end) continue;
    let lo = start;
    let hi = start;
    for (let i = start + 1; i < end; i++) {
      if (inner[i][1] < inner[lo][1]) lo = i;
      if (inner[i][1] > inner[hi][1]) hi = i;
    }
    if (lo === hi) out.push(inner[lo]);
    else if (lo < hi) out.push(inner[lo], inner[hi]);
    else out.push(inner[hi], inner[lo]);
  }
  out.push(points[points.length - 1]);
  return out;
}

/**
 * Exponential moving average of y, `weight` in [0, 1) (0: the raw values). Debiased as
 * TensorBoard's slider is, so the first points are not pulled towards zero.
 */
export function smooth(points, weight) {
  const w = Math.min(Math.max(Number(weight) || 0, 0), 0.999);
  if (w === 0) return points;
  let last = 0;
  let debias = 1;
  return points.map(([x, y]) => {
    last = last * w + (1 - w) * y;
    debias *= w;
    return [x, last / (1 - debias)];
  });
}

// Metrics that get better as they go down. Everything else (accuracy, auc, f1…) goes up.
const LOWER_IS_BETTER = /loss|error|mae|mse|rmse|mape|msle|crossentropy|hinge|perplexity|divergence|poisson|cosh/i;

/**
 * "min" or "max": which end of a metric is best. `overrides` ({name: "min" | "max"}) wins,
 * by the full name (val_loss) or by the training metric's name (loss covers val_loss too).
 */
export function bestGoal(metric, overrides = {}) {
  const base = metric.startsWith("val_") ? metric.slice(4) : metric;
  for (const name of [metric, base]) {
    const goal = overrides?.[name];
    if (goal === "min" || goal === "max") return goal;
  }
  return LOWER_IS_BETTER.test(base) ? "min" : "max";
}

/** Index of the best point (the first one on a tie), or -1 when there is none. */
export function bestIndex(points, goal) {
  let best = -1;
  for (let i = 0; i < points.length; i++) {
    const y = points[i][1];
    if (!isFiniteNumber(y)) continue;
    if (best === -1 || (goal === "min" ? y < points[best][1] : y > points[best][1])) best = i;
  }
  return best;
}

/** Index of the point whose x is nearest `x` in points sorted by x; -1 when empty. */
export function nearestIndex(points, x) {
  if (points.length === 0 || !isFiniteNumber(x)) return -1;
  let lo = 0;
  let hi = points.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid][0] < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && x - points[lo - 1][0] <= points[lo][0] - x) return lo - 1;
  return lo;
}

/**
 * Several series as uPlot's aligned data: [xs, ys1, ys2, …] over the union of their x values,
 * null where a series has no point (drawn across with spanGaps), and `extraXs` as rows with
 * no point at all. Each series sorted by x.
 */
export function alignSeries(seriesList, extraXs = []) {
  const all = [...seriesList.flatMap((points) => points.map((p) => p[0])), ...extraXs];
  const xs = [...new Set(all)].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const columns = seriesList.map((points) => {
    const ys = new Array(xs.length).fill(null);
    for (const [x, y] of points) ys[/** @type {number} */ (index.get(x))] = y;
    return ys;
  });
  return [xs, ...columns];
}
