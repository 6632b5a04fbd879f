import { describe, expect, it } from "vitest";
import { decimate, extent, finitePoints, layoutSeries, paddedExtent, pathFor, scalePoints, xAxisLabels } from "../chart.js";

describe("extents", () => {
  it("ignores non-finite values", () => {
    expect(extent([3, Number.NaN, 1, Infinity, 2])).toEqual({ min: 1, max: 3 });
    expect(extent([Number.NaN])).toBeNull();
  });
  it("pads by a fraction of the range", () => {
    expect(paddedExtent([0, 10], 0.1)).toEqual({ min: -1, max: 11 });
  });
  it("gives a flat series a band", () => {
    const e = paddedExtent([2, 2]);
    expect(e.min).toBeLessThan(2);
    expect(e.max).toBeGreaterThan(2);
    expect(paddedExtent([0, 0])).toEqual({ min: -1, max: 1 });
  });
});

describe("decimate", () => {
  const series = Array.from({ length: 5000 }, (_, i) => [i, Math.sin(i / 50)]);
  it("keeps short series whole", () => {
    expect(decimate(series.slice(0, 10), 300)).toHaveLength(10);
  });
  it("caps the points, keeps the ends and x order", () => {
    const out = decimate(series, 300);
    expect(out.length).toBeLessThanOrEqual(300);
    expect(out[0]).toBe(series[0]);
    expect(out.at(-1)).toBe(series.at(-1));
    for (let i = 1; i < out.length; i++) expect(out[i][0]).toBeGreaterThan(out[i - 1][0]);
  });
  it("keeps a one-point spike", () => {
    const spiky = Array.from({ length: 1000 }, (_, i) => [i, i === 537 ? 99 : 1]);
    const out = decimate(spiky, 50);
    expect(out.some(([, y]) => y === 99)).toBe(true);
    expect(out.length).toBeLessThanOrEqual(50);
  });
  it("keeps min and max of the whole series", () => {
    const out = decimate(series, 100);
    const ys = out.map((p) => p[1]);
    expect(Math.max(...ys)).toBe(Math.max(...series.map((p) => p[1])));
    expect(Math.min(...ys)).toBe(Math.min(...series.map((p) => p[1])));
  });
});

describe("scaling and paths", () => {
  it("maps into the box with y flipped", () => {
    const scaled = scalePoints([[0, 0], [10, 5]], { min: 0, max: 10 }, { min: 0, max: 5 }, { width: 100, height: 50 });
    expect(scaled).toEqual([[0, 50], [100, 0]]);
  });
  it("respects the inset", () => {
    const scaled = scalePoints([[0, 0], [1, 1]], { min: 0, max: 1 }, { min: 0, max: 1 }, { width: 100, height: 50, inset: 5 });
    expect(scaled).toEqual([[5, 45], [95, 5]]);
  });
  it("writes an SVG path", () => {
    expect(pathFor([[0, 50], [50.04, 25.06], [100, 0]])).toBe("M0,50L50,25.1L100,0");
    expect(pathFor([])).toBe("");
    // One point: a zero-length segment, drawn as a round dot by the stroke's round caps.
    expect(pathFor([[10, 20]])).toBe("M10,20L10,20");
  });
  it("drops gaps", () => {
    expect(finitePoints([[1, 2], [2, Number.NaN], [3, null], [4, 1]])).toEqual([[1, 2], [4, 1]]);
  });
});

describe("layoutSeries", () => {
  it("shares domains across series and decimates each", () => {
    const long = Array.from({ length: 1000 }, (_, i) => [i + 1, 1 / (i + 1)]);
    const { paths, xDomain, yDomain } = layoutSeries([long, [[1, 2], [2, 1.5]]], { width: 600, height: 160, maxPoints: 100 });
    expect(xDomain).toEqual({ min: 1, max: 1000 });
    expect(yDomain.max).toBeGreaterThan(2);
    expect(paths[0].split("L").length).toBeLessThanOrEqual(100);
    expect(paths[1]).toMatch(/^M/);
  });
  it("handles one epoch and no data", () => {
    const one = layoutSeries([[[1, 0.5]]], { width: 600, height: 160 });
    expect(one.xDomain).toEqual({ min: 0.5, max: 1.5 });
    // A dot in the middle of the chart, not a dash.
    expect(one.paths[0]).toBe("M300,80L300,80");
    expect(one.sizes).toEqual([1]);
    const none = layoutSeries([[]], { width: 600, height: 160 });
    expect(none.paths).toEqual([""]);
    expect(none.sizes).toEqual([0]);
  });
  it("counts the points each series keeps", () => {
    const { sizes } = layoutSeries([[[1, 1], [2, 2]], [[3, Number.NaN], [3, 1]]], { width: 600, height: 160 });
    expect(sizes).toEqual([2, 1]);
  });
});

describe("xAxisLabels", () => {
  it("labels the first and last epoch", () => {
    expect(xAxisLabels({ min: 1, max: 20 })).toEqual({ min: "1", mid: "epoch", max: "20" });
  });
  it("labels a single epoch once, under the dot", () => {
    expect(xAxisLabels({ min: 1, max: 1 })).toEqual({ min: "", mid: "epoch 1", max: "" });
  });
  it("labels nothing without data", () => {
    expect(xAxisLabels(null)).toEqual({ min: "", mid: "epoch", max: "" });
  });
});
