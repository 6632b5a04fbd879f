import { describe, expect, it } from "vitest";
import { mainMetric, metricGroups, metricNames, orderMetrics, summaryLogs } from "../metrics.js";
import { differingParams, paramRows } from "../params.js";
import { formatMetric } from "../format.js";
import { kernelClock, normalizeSnapshot, theRunningOne, trainingLabel } from "../state.js";
import {
  ANSWER_TIMEOUT_MS,
  describeStop,
  endNote,
  hintDelay,
  knownCommandIds,
  latestCommand,
  NO_ANSWER_HINT,
  stopView,
} from "../stopview.js";
import { NOW, runningTraining, snapshot, training } from "./fixtures.js";

const norm = (raw) => normalizeSnapshot(raw);

describe("normalizeSnapshot", () => {
  it("fills defaults for an empty or missing state", () => {
    const s = norm(undefined);
    expect(s.trainings).toEqual([]);
    expect(s.commands).toEqual([]);
    expect(s.connection.status).toBe("connecting");
    expect(s.error).toBeNull();
  });
  it("accepts JSON text and reports malformed text as an error", () => {
    expect(norm(JSON.stringify(snapshot())).model.name).toBe("mnist-mlp");
    expect(norm("{oops").error).toMatch(/malformed/);
  });
  it("fills finished trainings' epochs from the history trait", () => {
    const t = training({ number: 2, epochs: null });
    const history = { [t.training_id]: [{ epoch: 0, logs: { loss: 1 } }] };
    expect(norm({ trainings: [t] }).trainings[0].epochs).toEqual([]);
    const filled = normalizeSnapshot({ trainings: [t] }, history).trainings[0].epochs;
    expect(filled).toEqual(history[t.training_id]);
    // The same history array is normalised once and reused.
    expect(normalizeSnapshot({ trainings: [t] }, history).trainings[0].epochs).toBe(filled);
  });
  it("puts a training not numbered yet first, and labels it #?", () => {
    const fresh = runningTraining({ number: null, started_at: NOW });
    const s = norm({ trainings: [training({ number: 4 }), fresh, training({ number: 9 })] });
    expect(s.trainings.map((t) => t.number)).toEqual([null, 9, 4]);
    expect(trainingLabel(s.trainings[0])).toBe("#?");
    expect(trainingLabel(s.trainings[1])).toBe("#9");
  });
  it("sorts trainings newest first and epochs ascending", () => {
    const t = training({ number: 1, epochs: [{ epoch: 2, logs: {} }, { epoch: 0, logs: {} }, { epoch: 1, logs: {} }] });
    const s = norm({ trainings: [t, training({ number: 5 }), "junk"] });
    expect(s.trainings.map((x) => x.number)).toEqual([5, 1]);
    expect(s.trainings[1].epochs.map((e) => e.epoch)).toEqual([0, 1, 2]);
  });
  it("puts an epoch's NaN/inf markers back into its logs as numbers", () => {
    const epochs = [
      { epoch: 0, logs: { loss: 0.5, acc: 0.9 } },
      { epoch: 1, logs: { acc: 0.2 }, non_finite: { loss: "nan", val_loss: "-inf", x: "junk" } },
    ];
    const [first, second] = norm({ trainings: [training({ number: 1, epochs })] }).trainings[0].epochs;
    expect(first.logs).toEqual({ loss: 0.5, acc: 0.9 });
    expect(Number.isNaN(second.logs.loss)).toBe(true);
    expect(second.logs.val_loss).toBe(Number.NEGATIVE_INFINITY);
    expect(second.logs.acc).toBe(0.2);
    expect("x" in second.logs).toBe(false); // an unknown marker is not a value
    expect(formatMetric(second.logs.loss)).toBe("NaN");
  });
});

describe("the running one", () => {
  it("is the newest running, else the newest lost", () => {
    const s = norm({ trainings: [training({ number: 4, status: "lost" }), runningTraining({ number: 3 }), training({ number: 2, status: "running" })] });
    expect(theRunningOne(s.trainings).number).toBe(3);
    expect(theRunningOne(norm({ trainings: [training({ number: 4, status: "lost" })] }).trainings).number).toBe(4);
    expect(theRunningOne(norm({ trainings: [training()] }).trainings)).toBeNull();
  });
});

describe("kernelClock", () => {
  it("advances the snapshot's time by local time since receipt", () => {
    expect(kernelClock(NOW, 1000, 3500)).toBe(NOW + 2.5);
  });
});

describe("metrics", () => {
  it("orders loss first and puts val_ twins next to their training metric", () => {
    expect(orderMetrics(["accuracy", "val_accuracy", "val_loss", "loss", "val_auc", "lr"])).toEqual([
      "loss",
      "val_loss",
      "accuracy",
      "val_accuracy",
      "lr",
      "val_auc",
    ]);
  });
  it("groups a chart per metric with its twin", () => {
    expect(metricGroups(["loss", "val_loss", "accuracy", "val_extra"])).toEqual([
      { key: "loss", train: "loss", val: "val_loss" },
      { key: "accuracy", train: "accuracy", val: null },
      { key: "val_extra", train: null, val: "val_extra" },
    ]);
  });
  it("finds names across trainings and picks a main metric", () => {
    const names = metricNames([training()]);
    expect(names).toEqual(["loss", "val_loss", "accuracy", "val_accuracy"]);
    expect(mainMetric(names)).toBe("accuracy");
    expect(mainMetric(["loss", "lr", "val_loss"])).toBeNull();
  });
  it("sums up with final logs, else the last epoch", () => {
    const t = norm({ trainings: [runningTraining()] }).trainings[0];
    expect(summaryLogs(t)).toEqual(t.epochs[2].logs);
  });
});

describe("params", () => {
  it("lists standard params first and finds differences", () => {
    const a = training({ number: 1, params: { zeta: 1, epochs: 3, optimizer: "adam", dropout: 0.1 } });
    const b = training({ number: 2, params: { epochs: 3, optimizer: "sgd" } });
    expect(paramRows([a, b]).map((r) => r.name)).toEqual(["epochs", "optimizer", "dropout", "zeta"]);
    expect([...differingParams([a, b])].sort()).toEqual(["dropout", "optimizer", "zeta"]);
    expect(differingParams([a]).size).toBe(0);
  });
});

describe("stops in words", () => {
  const stop = { sender: "alice", kind: "stop", epoch: 3, step: 17, requested_at: NOW };
  it("uses 1-based epochs", () => {
    expect(describeStop(stop)).toBe("stopped at epoch 4, step 17");
    expect(describeStop(stop, true)).toBe("stopped by alice at epoch 4, step 17");
    expect(describeStop({ ...stop, step: null })).toBe("stopped at epoch 4");
    expect(describeStop(null)).toBe("stopped");
  });
  it("notes how a training ended", () => {
    expect(endNote(training({ status: "stopped", stop }))).toBe("stopped by alice at epoch 4, step 17");
    expect(endNote(training({ status: "failed", reason: "NaN loss" }))).toBe("NaN loss");
    expect(endNote(runningTraining({ stop }))).toBe("stop requested by alice");
    expect(endNote(training())).toBe("");
  });
});

describe("stopView", () => {
  const t = norm({ trainings: [runningTraining()] }).trainings[0];
  const id = t.training_id;
  const cmd = (state, extra = {}) => ({ id: "c1", kind: "stop", target: id, state, detail: "", sent_at: NOW, ...extra });
  const request = { afterEpoch: false, atMs: 1000, knownIds: [] };
  const view = (commands, req = request, localNowMs = 1100, tr = t) =>
    stopView({ training: tr, commands, request: req, localNowMs });

  it("is idle with nothing asked", () => {
    expect(view([], null)).toMatchObject({ phase: "idle", canStop: true, text: "" });
  });
  it("gives the hint at once on the interrupt route", () => {
    expect(hintDelay("interrupt")).toBe(0);
    expect(hintDelay("subshell")).toBe(ANSWER_TIMEOUT_MS);
    expect(hintDelay(undefined)).toBe(ANSWER_TIMEOUT_MS);
    expect(stopView({ training: t, commands: [], request, localNowMs: request.atMs, hintAfterMs: 0 }).hint).toBe(NO_ANSWER_HINT);
  });
  it("shows the optimistic request at once, the hint after the timeout", () => {
    expect(view([])).toMatchObject({ phase: "requested", text: "stop requested…", hint: "" });
    expect(view([cmd("sent")])).toMatchObject({ phase: "requested", hint: "" });
    expect(view([cmd("sent")], request, 1000 + ANSWER_TIMEOUT_MS).hint).toBe(NO_ANSWER_HINT);
    expect(view([], { ...request, afterEpoch: true }).text).toBe("stop requested… (after this epoch)");
  });
  it("follows the command's state", () => {
    expect(view([cmd("acknowledged")], request, 9999)).toMatchObject({
      phase: "acknowledged",
      text: "acknowledged — stopping after the current batch",
      hint: "",
    });
    expect(view([cmd("acknowledged", { kind: "stop_after_epoch" })]).text).toBe("acknowledged — stopping after epoch 4");
    expect(view([cmd("refused", { detail: "not your training" })])).toMatchObject({
      phase: "refused",
      text: "refused: not your training",
      canStop: true,
    });
    expect(view([cmd("undelivered")]).text).toBe("no training of this key is running");
  });
  it("matches commands for all trainings of the key", () => {
    expect(view([cmd("acknowledged", { target: "all" })]).phase).toBe("acknowledged");
    expect(view([cmd("acknowledged", { target: "ffffffffffffffff" })]).phase).toBe("requested");
  });
  it("ignores commands older than the click", () => {
    const old = cmd("refused", { id: "old", detail: "earlier" });
    const known = knownCommandIds(t, [old]);
    expect(view([old], { ...request, knownIds: known }).phase).toBe("requested");
    expect(view([old, cmd("acknowledged", { id: "new" })], { ...request, knownIds: known }).phase).toBe("acknowledged");
  });
  it("shows another viewer's stop without a local click", () => {
    expect(view([cmd("sent")], null)).toMatchObject({ phase: "requested", text: "stop requested…" });
    const byBob = { ...t, stop: { sender: "bob", kind: "stop", epoch: null, step: null } };
    expect(view([], null, 0, byBob).text).toBe("stop requested by bob…");
  });
  it("ends with where the training stopped", () => {
    const stopped = { ...t, status: "stopped", stop: { sender: "me", kind: "stop", epoch: 3, step: 31 } };
    expect(view([cmd("acknowledged")], request, 9999, stopped)).toMatchObject({
      phase: "stopped",
      text: "stopped at epoch 4, step 31",
      canStop: false,
    });
    expect(view([], request, 0, { ...t, status: "completed" }).text).toBe("training completed before the stop took effect");
  });
  it("picks the newest matching command", () => {
    const commands = [cmd("refused", { id: "a", sent_at: NOW - 5 }), cmd("acknowledged", { id: "b", sent_at: NOW })];
    expect(latestCommand(t, commands).id).toBe("b");
  });
});
