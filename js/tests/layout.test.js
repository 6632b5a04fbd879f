// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from "vitest";
import { exportFileName, trainingsCsv, trainingsJson } from "../exporting.js";
import { bestEpoch, keyMetrics, lowerIsBetter } from "../metrics.js";
import { differingParams, paramRows, rowValue, sameValue } from "../params.js";
import { normalizeSnapshot } from "../state.js";
import { parseUiState } from "../uistate.js";
import { mount } from "../widget.js";
import { epochRecord, fakeEnv, fakeModel, runningTraining, snapshot, training } from "./fixtures.js";

let cleanups = [];
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
  document.body.replaceChildren();
  vi.restoreAllMocks();
});

function setup(state = snapshot(), traits = {}) {
  const model = fakeModel(state, traits);
  const saves = [];
  model.save_changes = () => saves.push(model.get("ui_state"));
  const el = document.createElement("div");
  document.body.append(el);
  const env = fakeEnv();
  cleanups.push(mount(model, el, env));
  const $ = (sel) => el.querySelector(sel);
  const $$ = (sel) => [...el.querySelectorAll(sel)];
  return { model, el, env, $, $$, saves };
}

const tid = (n) => `${n}`.padStart(16, "0");
const activeTab = ($) => $("[role=tab][aria-selected=true]").dataset.tab;
const visiblePanel = ($$) => $$("[role=tabpanel]").filter((p) => !p.hidden).map((p) => p.dataset.testid);

describe("compact layout", () => {
  it("puts the running training's current bar, Stop, the controls slot and key metrics on top", () => {
    const { $, $$ } = setup();
    const panel = $("[data-testid=summary-panel]");
    expect(panel.querySelector("[data-testid=current-bar]").textContent).toContain("Epoch 4/20");
    expect(panel.querySelector("[data-testid=stop-button]")).not.toBeNull();
    expect(panel.querySelector("[data-testid=controls]")).not.toBeNull();
    // The summary holds one bar whatever the epoch count: the others are in the Epochs tab.
    expect(panel.querySelectorAll(".dltrack-bar")).toHaveLength(1);
    const names = $$("[data-testid=key-metric]").map((m) => m.dataset.metric);
    expect(names).toEqual(["loss", "val_loss", "accuracy", "val_accuracy"]);
  });
  it("gives each bar's full text as its tooltip (the line itself is cut)", () => {
    const { $$ } = setup();
    const text = $$("[data-testid=epoch-bar] .dltrack-bar-text")[0];
    expect(text.getAttribute("title")).toBe(text.textContent);
  });
  it("opens on Epochs while a training runs, on Trainings otherwise, and switches on click", () => {
    const idle = setup(snapshot({ trainings: [training({ number: 1 })] }));
    expect(activeTab(idle.$)).toBe("trainings");
    const { $, $$, model, saves, env } = setup();
    expect(activeTab($)).toBe("epochs");
    // The training ending does not take the bars away.
    model.push(snapshot({ trainings: [training({ number: 3 }), training({ number: 1 })] }));
    env.flush();
    expect(activeTab($)).toBe("epochs");
    expect(visiblePanel($$)).toEqual(["panel-epochs"]);
    $("[data-testid=tab-charts]").click();
    expect(activeTab($)).toBe("charts");
    expect(visiblePanel($$)).toEqual(["panel-charts"]);
    expect(model.get("ui_state").tab).toBe("charts");
    expect(saves).toHaveLength(1);
  });
  it("keeps the destructive actions in closed menus", () => {
    const { $, model } = setup(snapshot({ trainings: [training({ number: 2 }), training({ number: 1 })] }));
    const item = $("[data-testid=delete-model]");
    expect(item.closest(".dltrack-menu-list").hidden).toBe(true);
    expect($("[data-testid=delete-training]").closest(".dltrack-menu-list").hidden).toBe(true);
    $("[data-testid=model-menu]").click();
    expect(item.closest(".dltrack-menu-list").hidden).toBe(false);
    expect($("[data-testid=model-menu]").getAttribute("aria-expanded")).toBe("true");
    item.click();
    expect(item.closest(".dltrack-menu-list").hidden).toBe(true);
    expect($("[data-testid=delete-model-confirm]").hidden).toBe(false);
    expect(model.sent).toEqual([]);
  });
});

describe("the drag handle", () => {
  it("sets the height limit within bounds, keeps it, and goes back to the default", () => {
    const { $, el, model } = setup();
    const handle = $("[data-testid=resize-handle]");
    const root = el.querySelector(".dltrack-monitor");
    handle.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowDown", bubbles: true }));
    // happy-dom lays nothing out (height 0): one step down is clamped to the 240 px minimum.
    expect(model.get("ui_state").height).toBe(240);
    expect(root.style.getPropertyValue("--dltrack-max-height")).toBe("240px");
    handle.dispatchEvent(new MouseEvent("dblclick", { bubbles: true }));
    expect(model.get("ui_state").height).toBeNull();
    expect(root.style.getPropertyValue("--dltrack-max-height")).toBe("");
  });
});

describe("ui_state", () => {
  it("saves the compare selection and the selected training", () => {
    const { $$, model } = setup();
    $$("[data-testid=compare-checkbox]")[2].click();
    $$("[data-testid=training-row]")[1].click();
    expect(model.get("ui_state")).toMatchObject({ compare: [tid(1)], selected: tid(2) });
  });
  it("restores them at mount, and follows another view's changes", () => {
    const ui = { tab: "params", compare: [tid(1)], selected: tid(2), height: 420 };
    const { $, $$, el, model, env } = setup(snapshot(), { ui_state: ui });
    expect(activeTab($)).toBe("params");
    expect($$("[data-testid=compare-checkbox]").map((c) => c.checked)).toEqual([false, false, true]);
    expect($("[data-testid=details]").dataset.trainingId).toBe(tid(2));
    expect($$("[data-testid=params-table] thead th").map((th) => th.textContent)).toEqual(["param", "#2", "#1"]);
    expect(el.querySelector(".dltrack-monitor").style.getPropertyValue("--dltrack-max-height")).toBe("420px");
    model.set("ui_state", { tab: "charts", compare: [], selected: null });
    env.flush();
    expect(activeTab($)).toBe("charts");
    expect($$("[data-testid=compare-checkbox]").some((c) => c.checked)).toBe(false);
  });
  it("ignores what is not a choice", () => {
    expect(parseUiState({ tab: "<b>", compare: ["x", tid(3), 7], selected: 5, height: 10, smoothing: 2, log: "y", goals: { "<b>": "min", auc: "up", mae: "min" } })).toEqual({
      tab: null, selected: null, compare: [tid(3)], axis: null, smoothing: null, log: null, goals: { mae: "min" }, height: null,
    });
    expect(parseUiState("junk").compare).toEqual([]);
  });
});

describe("export", () => {
  const snap = () => normalizeSnapshot(snapshot());
  it("writes one CSV row per epoch, the columns of dltrack.history()", () => {
    const csv = trainingsCsv(snap().trainings);
    const [head, first] = csv.trim().split("\n");
    expect(head).toBe("training,training_id,status,epoch,loss,val_loss,accuracy,val_accuracy");
    expect(first).toBe(`3,${tid(3)},running,0,0.5,0.55,0.8,0.78`);
    expect(csv.trim().split("\n")).toHaveLength(1 + 3 + 3 + 3);
  });
  it("quotes cells that hold commas or quotes", () => {
    const t = normalizeSnapshot(snapshot({ trainings: [training({ epochs: [epochRecord(0, { 'a,"b': 1 })] })] })).trainings;
    expect(trainingsCsv(t).split("\n")[0]).toBe('training,training_id,status,epoch,"a,""b"');
  });
  it("writes JSON with params and epochs, and a safe file name", () => {
    const out = JSON.parse(trainingsJson(snap().trainings));
    expect(out[2]).toMatchObject({ training: 1, status: "completed", params: { batch_size: 32 } });
    expect(out[2].epochs).toHaveLength(3);
    expect(exportFileName("../my model/✓", "csv")).toBe("my-model-trainings.csv");
    expect(exportFileName("", "json")).toBe("dltrack-trainings.json");
  });
  it("downloads the compared trainings while comparing, else all", async () => {
    const blobs = [];
    vi.spyOn(URL, "createObjectURL").mockImplementation((blob) => {
      blobs.push(blob);
      return "blob:x";
    });
    vi.spyOn(URL, "revokeObjectURL").mockImplementation(() => {});
    const { $, $$ } = setup();
    $("[data-testid=export-csv]").click();
    $$("[data-testid=compare-checkbox]")[2].click();
    $("[data-testid=export-json]").click();
    expect(blobs.map((b) => b.type)).toEqual(["text/csv", "application/json"]);
    const csv = await blobs[0].text();
    expect(csv.trim().split("\n")).toHaveLength(10);
    const json = JSON.parse(await blobs[1].text());
    expect(json.map((t) => t.training)).toEqual([3, 1]);
  });
});

describe("best values", () => {
  it("takes the lowest loss and the highest accuracy", () => {
    const epochs = [0.5, 0.3, 0.4].map((loss, e) => epochRecord(e, { loss, accuracy: [0.7, 0.9, 0.8][e] }));
    expect(bestEpoch(epochs, "loss")).toEqual({ epoch: 1, value: 0.3 });
    expect(bestEpoch(epochs, "accuracy")).toEqual({ epoch: 1, value: 0.9 });
    expect(bestEpoch(epochs, "missing")).toBeNull();
    expect(lowerIsBetter("val_mean_squared_error")).toBe(true);
    expect(lowerIsBetter("auc")).toBe(false);
  });
  it("leaves the learning rate out of the key metrics", () => {
    const t = normalizeSnapshot(snapshot({ trainings: [training({ epochs: [epochRecord(0, { loss: 1, learning_rate: 0.1 })] })] })).trainings[0];
    expect(keyMetrics(t).map((m) => m.name)).toEqual(["loss"]);
  });
});

describe("parameters without duplicates", () => {
  const t = (params, number = 1) => ({ ...training({ number }), params });
  it("folds a user's lr into Keras' learning_rate when they hold the same value", () => {
    const rows = paramRows([t({ learning_rate: 0.0010000000474974513, lr: 0.001, dropout: 0.2 })]);
    expect(rows.map((r) => r.label)).toEqual(["learning_rate (lr)", "dropout"]);
    expect(rowValue(t({ lr: 0.01 }), rows[0])).toBe(0.01);
  });
  it("keeps both when they differ, and compares trainings by row", () => {
    expect(paramRows([t({ learning_rate: 0.001, lr: 0.1 })]).map((r) => r.name)).toEqual(["learning_rate", "lr"]);
    const a = t({ learning_rate: 0.001, lr: 0.001 }, 1);
    const b = t({ learning_rate: 0.0010000000474974513, lr: 0.001 }, 2);
    expect(differingParams([a, b]).size).toBe(0);
    expect(sameValue("Adam", "adam")).toBe(true);
  });
  it("shows the folded row once in the Parameters tab", () => {
    const snap = snapshot({ trainings: [runningTraining({ params: { learning_rate: 0.0010000000474974513, lr: 0.001 } })] });
    const { $$ } = setup(snap);
    expect($$("[data-testid=params-table] tbody th").map((th) => th.textContent)).toEqual(["learning_rate (lr)"]);
  });
});
