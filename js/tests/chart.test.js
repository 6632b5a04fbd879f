import { describe, expect, it } from "vitest";
import { alignSeries, bestGoal, bestIndex, decimate, extent, finitePoints, nearestIndex, smooth } from "../chart.js";

describe("extents and gaps", () => {
  it("ignores non-finite values", () => {
    expect(extent([3, Number.NaN, 1, Infinity, 2])).toEqual({ min: 1, max: 3 });
    expect(extent([Number.NaN])).toBeNull();
  });
  it("drops gaps", () => {
    expect(finitePoints([[1, 2], [2, Number.NaN], [3, null], [4, 1]])).toEqual([[1, 2], [4, 1]]);
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

describe("smooth", () => {
  it("is the raw series at 0", () => {
    const points = [[1, 3], [2, 1]];
    expect(smooth(points, 0)).toBe(points);
  });
  it("is a debiased EMA: a flat series stays flat, the first point is its own value", () => {
    expect(smooth([[1, 2], [2, 2], [3, 2]], 0.9).map((p) => p[1])).toEqual([2, 2, 2].map((v) => expect.closeTo(v, 12)));
    const out = smooth([[1, 1], [2, 0]], 0.5);
    expect(out[0]).toEqual([1, 1]);
    // (0.5·0.5·1 + 0.5·0) / (1 − 0.25) = 1/3
    expect(out[1][1]).toBeCloseTo(1 / 3, 12);
  });
  it("damps noise and keeps x", () => {
    const noisy = Array.from({ length: 200 }, (_, i) => [i, i % 2 ? 1 : -1]);
    const out = smooth(noisy, 0.9);
    expect(out.map((p) => p[0])).toEqual(noisy.map((p) => p[0]));
    expect(Math.max(...out.slice(50).map((p) => Math.abs(p[1])))).toBeLessThan(0.2);
  });
  it("clamps a weight out of range", () => {
    expect(smooth([[1, 5]], -3)).toEqual([[1, 5]]);
    expect(smooth([[1, 5], [2, 5]], 7).every(([, y]) => Math.abs(y - 5) < 1e-9)).toBe(true);
  });
});

describe("best epoch", () => {
  it("minimises losses and errors, maximises the rest", () => {
    expect(bestGoal("loss")).toBe("min");
    expect(bestGoal("val_loss")).toBe("min");
    expect(bestGoal("mean_absolute_error")).toBe("min");
    expect(bestGoal("val_mae")).toBe("min");
    expect(bestGoal("accuracy")).toBe("max");
    expect(bestGoal("val_auc")).toBe("max");
  });
  it("takes an override by full or training name", () => {
    expect(bestGoal("val_top_miss", { top_miss: "min" })).toBe("min");
    expect(bestGoal("val_loss", { val_loss: "max" })).toBe("max");
    expect(bestGoal("accuracy", { accuracy: "sideways" })).toBe("max");
  });
  it("finds the first best point, skipping gaps", () => {
    const points = [[1, 0.5], [2, 0.2], [3, Number.NaN], [4, 0.2], [5, 0.9]];
    expect(bestIndex(points, "min")).toBe(1);
    expect(bestIndex(points, "max")).toBe(4);
    expect(bestIndex([], "min")).toBe(-1);
  });
});

describe("nearestIndex", () => {
  const points = [[1, 0], [2, 0], [4, 0], [8, 0]];
  it("finds the nearest x", () => {
    expect(nearestIndex(points, 2.9)).toBe(1);
    expect(nearestIndex(points, 3.1)).toBe(2);
    expect(nearestIndex(points, -5)).toBe(0);
    expect(nearestIndex(points, 100)).toBe(3);
    expect(nearestIndex(points, 4)).toBe(2);
  });
  it("is -1 with nothing to find", () => {
    expect(nearestIndex([], 1)).toBe(-1);
    expect(nearestIndex(points, Number.NaN)).toBe(-1);
  });
});

describe("alignSeries", () => {
  it("joins series on the union of their x, null where one has no point", () => {
    expect(alignSeries([[[1, 10], [3, 30]], [[2, 20], [3, 31]]])).toEqual([
      [1, 2, 3],
      [10, null, 30],
      [null, 20, 31],
    ]);
    expect(alignSeries([])).toEqual([[]]);
  });
});
