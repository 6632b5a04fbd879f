import { describe, expect, it } from "vitest";
import { axisKey, batchPoints, chartModel, epochXs, MAX_POINTS, valuesAt } from "../series.js";
import { normalizeSnapshot } from "../state.js";
import { epochRecord, NOW, snapshot, training } from "./fixtures.js";

const LOSS = { key: "loss", train: "loss", val: "val_loss" };
const ACC = { key: "accuracy", train: "accuracy", val: "val_accuracy" };

function run(number, { epochs = 30, steps = 50, batches = null, logs = (e) => ({ loss: 1 / (e + 1), val_loss: 1.2 / (e + 1) + (e === 12 ? -0.5 : 0) }) } = {}) {
  return training({
    number,
    started_at: NOW - 1000,
    params: { epochs, steps },
    epochs: Array.from({ length: epochs }, (_, e) => epochRecord(e, logs(e), { steps, started: NOW - 1000 + e * 10 })),
    batches,
  });
}

const norm = (...trainings) => normalizeSnapshot(snapshot({ trainings })).trainings;

describe("x axes", () => {
  const [t] = norm(run(1, { epochs: 3 }));
  it("places epochs by their number (1-based), global step or seconds from the start", () => {
    expect(epochXs(t, "epoch")).toEqual([1, 2, 3]);
    expect(epochXs(t, "step")).toEqual([50, 100, 150]);
    expect(epochXs(t, "time")).toEqual([8, 18, 28]);
  });
  it("counts a stopped epoch's steps as done, and unknown counts as unknown", () => {
    const short = { ...t, epochs: [epochRecord(0, {}, { steps: 50 }), epochRecord(1, {}, { steps: 20 })] };
    expect(epochXs(short, "step")).toEqual([50, 70]);
    const unknown = { ...t, params: {}, epochs: [epochRecord(0, {}, { steps: null })] };
    expect(epochXs(unknown, "step")).toEqual([null]);
  });
  it("falls back to epochs for an unknown axis", () => {
    expect(axisKey("nonsense")).toBe("epoch");
    expect(axisKey("time")).toBe("time");
  });
  it("reads the per-batch columns on each axis, skipping gaps and junk", () => {
    const batches = { epoch: [0.5, null, 1.5], step: [25, 50, 75], time: [4, 8, 12], loss: [0.9, 0.8, "x"] };
    expect(batchPoints({ batches }, "epoch")).toEqual([[0.5, 0.9]]);
    expect(batchPoints({ batches }, "step")).toEqual([[25, 0.9], [50, 0.8]]);
    expect(batchPoints({ batches: null }, "step")).toEqual([]);
    expect(batchPoints({ batches: { loss: [1] } }, "step")).toEqual([]);
  });
});

describe("chartModel", () => {
  it("one training: train solid, val dashed, per-batch loss, all one colour, best epochs", () => {
    const batches = { epoch: [0.5, 1], step: [25, 50], time: [4, 8], loss: [2, 1.5] };
    const model = chartModel(LOSS, norm(run(1, { batches })));
    expect(model.series.map((s) => [s.role, s.metric, s.colour])).toEqual([["train", "loss", 0], ["val", "val_loss", 0], ["batch", "loss", 0]]);
    expect(model.series[0].drawn).toHaveLength(30);
    const best = Object.fromEntries(model.best.map((b) => [b.metric, b]));
    expect(best.loss).toMatchObject({ goal: "min", epoch: 30, x: 30 });
    expect(best.val_loss).toMatchObject({ goal: "min", epoch: 13, x: 13 });
    expect(model.legend).toHaveLength(1);
    expect(model.data).toHaveLength(4); // x + three series
  });
  it("widens the x axis to an epoch that went NaN, which the curves leave out", () => {
    const t = run(1, { epochs: 3 });
    t.epochs[2] = { ...t.epochs[2], logs: {}, non_finite: { loss: "nan", val_loss: "nan" } };
    const model = chartModel(LOSS, norm(t));
    expect(model.series[0].drawn.map((p) => p[0])).toEqual([1, 2]);
    expect(model.marks.map((m) => m.x)).toEqual([3]);
    expect(model.data[0]).toEqual([1, 2, 3]);
    expect(model.data.slice(1).map((ys) => ys[2])).toEqual([null, null]);
  });
  it("maximises accuracy unless overridden", () => {
    const t = norm(run(1, { logs: (e) => ({ accuracy: e / 30 }) }));
    expect(chartModel(ACC, t).best[0]).toMatchObject({ goal: "max", epoch: 30 });
    expect(chartModel(ACC, t, { goals: { accuracy: "min" } }).best[0]).toMatchObject({ goal: "min", epoch: 1 });
  });
  it("compare mode: one colour per training, the legend grouped by training", () => {
    const trainings = norm(run(4), run(3), run(2), run(1));
    const model = chartModel(LOSS, trainings, { compare: true });
    expect(model.series).toHaveLength(8);
    expect(model.legend.map((g) => [g.label, g.colour, g.items.length])).toEqual([["#4", 0, 2], ["#3", 1, 2], ["#2", 2, 2], ["#1", 3, 2]]);
    expect(model.best).toHaveLength(8);
  });
  it("bounds a 10 000-point per-batch curve, keeping its spike", () => {
    const n = 10_000;
    const loss = Array.from({ length: n }, (_, i) => (i === 7777 ? 50 : 1 / (1 + i / 1000)));
    const batches = { epoch: loss.map((_, i) => i / 100), step: loss.map((_, i) => i + 1), time: loss.map((_, i) => i / 10), loss };
    const model = chartModel(LOSS, norm(run(1, { batches })), { axis: "step" });
    const batch = model.series.find((s) => s.role === "batch");
    expect(batch.drawn.length).toBeLessThanOrEqual(MAX_POINTS);
    expect(batch.drawn.some(([, y]) => y === 50)).toBe(true);
  });
  it("smooths what it draws, keeps the raw values for the legend and the best epoch", () => {
    const model = chartModel(LOSS, norm(run(1)), { smoothing: 0.9 });
    const val = model.series.find((s) => s.role === "val");
    expect(val.raw[12][1]).toBeCloseTo(1.2 / 13 - 0.5);
    expect(val.drawn[12][1]).toBeGreaterThan(val.raw[12][1]);
    expect(model.best.find((b) => b.metric === "val_loss").epoch).toBe(13);
    const at = valuesAt(model, 13.2)[val.key];
    expect(at.raw).toBeCloseTo(1.2 / 13 - 0.5);
    expect(at.value).toBe(val.drawn[12][1]);
  });
  it("log scale drops values a log axis cannot show", () => {
    const t = norm(run(1, { epochs: 3, logs: (e) => ({ loss: e - 1 }) }));
    expect(chartModel(LOSS, t, { log: true }).series[0].drawn).toEqual([[3, 1]]);
  });
  it("hover values: nearest point of each series, the last one without a cursor", () => {
    const model = chartModel(LOSS, norm(run(1, { epochs: 5 })));
    const at = valuesAt(model, 2.4);
    expect(at[model.series[0].key]).toMatchObject({ x: 2, value: 0.5, raw: null });
    expect(valuesAt(model, null)[model.series[0].key]).toMatchObject({ x: 5, value: 0.2 });
  });
});
