// @vitest-environment happy-dom
// The charts panel in the widget: its controls, the choices kept in the `ui_state` trait, the per-batch
// curve and the legend. (No canvas here: what uPlot draws is checked in the browser tests.)
import { afterEach, describe, expect, it } from "vitest";
import { mount } from "../widget.js";
import { fakeEnv, fakeModel, runningTraining, snapshot } from "./fixtures.js";

let cleanups = [];
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
  document.body.replaceChildren();
});

function setup(state, traits = {}) {
  const model = fakeModel(state, traits);
  const saved = [];
  model.save_changes = () => saved.push(structuredClone(model.get("ui_state")));
  const el = document.createElement("div");
  document.body.append(el);
  const env = fakeEnv();
  cleanups.push(mount(model, el, env));
  return { model, saved, env, $: (sel) => el.querySelector(sel), $$: (sel) => [...el.querySelectorAll(sel)] };
}

const batches = { epoch: [0.5, 1, 1.5, 2, 2.5, 3, 3.5], step: [25, 50, 75, 100, 125, 150, 175], time: [4, 8, 12, 16, 20, 24, 28], loss: [0.9, 0.7, 0.6, 0.5, 0.45, 0.4, 0.41] };

describe("chart choices", () => {
  it("are saved into the ui_state trait and redraw at once", () => {
    const { $, saved, model } = setup(snapshot({ ui: undefined }), { ui_state: { tab: "charts" } });
    const axis = $("[data-testid=chart-axis]");
    axis.value = "time";
    axis.dispatchEvent(new Event("change"));
    const log = $("[data-testid=chart-log]");
    log.checked = true;
    log.dispatchEvent(new Event("change"));
    const smoothing = $("[data-testid=chart-smoothing]");
    smoothing.value = "0.5";
    smoothing.dispatchEvent(new Event("input"));
    smoothing.value = "0.6";
    smoothing.dispatchEvent(new Event("input"));
    expect(saved).toHaveLength(2); // dragging: the view follows, the kernel is not told yet
    expect($(".dltrack-chart-smoothing-value").textContent).toBe("0.60");
    smoothing.dispatchEvent(new Event("change"));
    // The other parts' choices (here the tab) are kept beside the chart ones.
    expect(model.get("ui_state")).toMatchObject({ tab: "charts", axis: "time", log: true, smoothing: 0.6 });
    expect(saved).toHaveLength(3);
    expect($(".dltrack-chart-smoothing-value").textContent).toBe("0.60");
  });
  it("are restored from the ui_state trait (a reloaded page), bad values ignored", () => {
    const { $ } = setup(snapshot(), { ui_state: { axis: "step", log: true, smoothing: 0.5 } });
    expect($("[data-testid=chart-axis]").value).toBe("step");
    expect($("[data-testid=chart-log]").checked).toBe(true);
    expect($("[data-testid=chart-smoothing]").value).toBe("0.5");
    const bad = setup(snapshot(), { ui_state: { axis: "<b>", log: "yes", smoothing: 9 } });
    expect(bad.$("[data-testid=chart-axis]").value).toBe("epoch");
    expect(bad.$("[data-testid=chart-log]").checked).toBe(false);
    expect(bad.$("[data-testid=chart-smoothing]").value).toBe("0");
  });
  it("follow a change of the ui_state trait made by another view", () => {
    const { $, model, env } = setup(snapshot(), { ui_state: {} });
    model.set("ui_state", { axis: "time" });
    env.flush();
    expect($("[data-testid=chart-axis]").value).toBe("time");
  });
  it("best-epoch goals can be overridden by metric name", () => {
    const { $ } = setup(snapshot(), { ui_state: { goals: { loss: "max" } } });
    const best = $("[data-testid=chart][data-metric=loss] [data-testid=legend-best]");
    expect(best.textContent).toBe("best 0.5 @ epoch 1");
  });
});

describe("the per-batch loss", () => {
  it("is a third series of the loss chart, on every axis", () => {
    const state = snapshot({ trainings: [runningTraining({ batches })] });
    const { $, $$, model, env } = setup(state, { ui_state: {} });
    const batch = () => $("[data-testid=chart][data-metric=loss] [data-testid=legend-item][data-role=batch]");
    expect(batch().dataset.points).toBe("7");
    expect(batch().querySelector("[data-testid=legend-value]").textContent).toBe("0.41");
    expect($$("[data-testid=chart][data-metric=accuracy] [data-role=batch]")).toHaveLength(0);
    for (const axis of ["step", "time"]) {
      model.set("ui_state", { axis });
      env.flush();
      expect(batch().dataset.points).toBe("7");
    }
  });
  it("shows the smoothed value with the raw one", () => {
    const state = snapshot({ trainings: [runningTraining({ batches })] });
    const { $ } = setup(state, { ui_state: { smoothing: 0.5 } });
    const value = $("[data-role=batch] [data-testid=legend-value]").textContent;
    expect(value).toMatch(/^0\.4\d+ \(raw 0\.41\)$/);
  });
});
