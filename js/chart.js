// Geometry for the SVG line charts: extents, decimation, scaling, path strings. Pure.
// A point is a two-element array [x, y]; non-finite y values are gaps and are dropped.

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
 * The extent widened by `pad` (a fraction of the range) on each side. A flat series gets a band
 * around its value so it draws mid-chart. Null when nothing is finite.
 */
export function paddedExtent(values, pad = 0.05) {
  const e = extent(values);
  if (e === null) return null;
  if (e.min === e.max) {
    const band = Math.abs(e.min) * 0.05 || 1;
    return { min: e.min - band, max: e.max + band };
  }
  const margin = (e.max - e.min) * pad;
  return { min: e.min - margin, max: e.max + margin };
}

/**
 * At most `maxPoints` points, keeping the shape: the points are cut into buckets and each bucket
 * keeps its lowest and highest point, in x order, so spikes survive. First and last points stay.
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
 * Map data points into a viewBox of `width` × `height` with `inset` pixels kept free on every
 * side; y grows upwards in data and downwards in SVG.
 */
export function scalePoints(points, xDomain, yDomain, { width, height, inset = 0 }) {
  const xSpan = xDomain.max - xDomain.min || 1;
  const ySpan = yDomain.max - yDomain.min || 1;
  const w = width - 2 * inset;
  const h = height - 2 * inset;
  return points.map(([x, y]) => [
    inset + ((x - xDomain.min) / xSpan) * w,
    inset + h - ((y - yDomain.min) / ySpan) * h,
  ]);
}

const round1 = (v) => Math.round(v * 10) / 10;

/**
 * "M0,10L5,4…" for scaled points; "" for none. A single point becomes a zero-length segment,
 * which round line caps draw as a dot (a dash would be stretched with the viewBox).
 */
export function pathFor(scaled) {
  if (scaled.length === 0) return "";
  if (scaled.length === 1) {
    const [x, y] = scaled[0].map(round1);
    return `M${x},${y}L${x},${y}`;
  }
  let d = "";
  for (let i = 0; i < scaled.length; i++) {
    d += `${i === 0 ? "M" : "L"}${round1(scaled[i][0])},${round1(scaled[i][1])}`;
  }
  return d;
}

/**
 * Everything one chart needs for several series: each series decimated to `maxPoints`, shared
 * domains (x from the data, y padded), a path string and the number of points kept per series,
 * and `xRange`, the data's own x extent (the axis labels).
 */
export function layoutSeries(seriesList, { width, height, inset = 2, maxPoints = 300 }) {
  const reduced = seriesList.map((points) => decimate(finitePoints(points), maxPoints));
  const xs = [];
  const ys = [];
  for (const points of reduced) {
    for (const [x, y] of points) {
      xs.push(x);
      ys.push(y);
    }
  }
  const xRange = extent(xs);
  const yDomain = paddedExtent(ys, 0.05);
  const sizes = reduced.map((points) => points.length);
  if (xRange === null || yDomain === null) {
    return { paths: reduced.map(() => ""), sizes, xDomain: null, yDomain: null, xRange: null };
  }
  // One epoch so far: centre it rather than divide by a zero-width range.
  const xDomain =
    xRange.min === xRange.max ? { min: xRange.min - 0.5, max: xRange.max + 0.5 } : xRange;
  const box = { width, height, inset };
  const paths = reduced.map((points) => pathFor(scalePoints(points, xDomain, yDomain, box)));
  return { paths, sizes, xDomain, yDomain, xRange };
}

/** Labels under the x axis: the first and last epoch, or a single epoch once (under its dot). */
export function xAxisLabels(xRange) {
  if (xRange === null) return { min: "", mid: "epoch", max: "" };
  if (xRange.min === xRange.max) return { min: "", mid: `epoch ${xRange.min}`, max: "" };
  return { min: String(xRange.min), mid: "epoch", max: String(xRange.max) };
}

/** Points [index + 1, value] for a plain list of values (batch losses). */
export const indexed = (values) => values.map((v, i) => [i + 1, v]);
