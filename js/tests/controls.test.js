// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import { mount } from "../widget.js";
import { commandLine, parseRate } from "../controls.js";
import { eventLine } from "../events.js";
import { fakeEnv, fakeModel, NOW, runningTraining, snapshot } from "./fixtures.js";

let cleanups = [];
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
  document.body.replaceChildren();
});

function setup(state, traits = {}) {
  const model = fakeModel(state, traits);
  const el = document.createElement("div");
  document.body.append(el);
  const env = fakeEnv();
  cleanups.push(mount(model, el, env));
  const update = (next) => {
    model.push(next);
    env.flush();
  };
  return { model, $: (sel) => el.querySelector(sel), $$: (sel) => [...el.querySelectorAll(sel)], update };
}

const running = runningTraining();
const id = running.training_id;

describe("control bar", () => {
  it("is not offered to a read-only viewer, like Stop", () => {
    // The serve page's read-only mode builds no bar; a read-only share hides it by class.
    const served = setup(snapshot(), { read_only: true });
    expect(served.$(".dltrack-controls-bar").hidden).toBe(true);
    const shared = setup(snapshot(), { can_control: false });
    // (widget.css hides `.dltrack-read-only .dltrack-controls-bar`, as it hides Stop.)
    expect(shared.$(".dltrack-read-only .dltrack-controls-bar")).not.toBe(null);
  });

  it("sends pause, learning rates, checkpoint and (from Stop's menu) save-and-stop", () => {
    const { model, $ } = setup(snapshot());
    $("[data-testid=pause-button]").click();
    $('[data-testid="lr-x0.5"]').click();
    const input = $("[data-testid=lr-input]");
    input.value = "0.0003";
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    input.value = "-1";
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" })); // refused here, not sent
    $("[data-testid=checkpoint-button]").click();
    $("[data-testid=stop-button]").click();
    $("[data-testid=stop-save]").click();
    expect(model.sent).toEqual([
      { action: "pause", training_id: id },
      { action: "set_lr", training_id: id, args: { factor: 0.5 } },
      { action: "set_lr", training_id: id, args: { value: 0.0003 } },
      { action: "checkpoint", training_id: id },
      { action: "stop", training_id: id, save: true },
    ]);
  });

  it("shows paused, the rate, the command's fate, rules and events", () => {
    const { model, $, $$, update } = setup(snapshot());
    const event = { id: "e1", kind: "set_lr", at: NOW, ok: true, detail: "learning rate 0.01 → 0.005",
      sender: "bo@box (dltrack lr)", command_id: "c1", epoch: 2, step: 4, values: { old: 0.01, new: 0.005 } };
    const rule = { id: "p", describe: "p: when val_loss not improved for 2 epoch(s) → save_and_stop" };
    const training = { ...running, paused_since: NOW - 5, lr: 0.005, events: [event], rules: [rule] };
    const command = { id: "c1", kind: "set_lr", target: id, state: "done", detail: event.detail, mine: true, sent_at: NOW };
    update(snapshot({ trainings: [training], commands: [command] }));
    expect($("[data-testid=pause-button]").textContent).toBe("Resume");
    expect($("[data-testid=paused]").hidden).toBe(false);
    expect($("[data-testid=lr-input]").value).toBe("0.005");
    expect($("[data-testid=controls-status]").textContent).toBe("set_lr done: learning rate 0.01 → 0.005");
    expect($("[data-testid=events]").textContent).toBe("epoch 3 · set_lr · learning rate 0.01 → 0.005 · by bo@box (dltrack lr)");
    expect($("[data-testid=rules]").textContent).toContain(rule.describe);
    $("[data-testid=rule-remove]").click();
    $("[data-testid=pause-button]").click();
    expect(model.sent).toEqual([
      { action: "remove_rule", training_id: id, args: { id: "p" } },
      { action: "resume", training_id: id },
    ]);
    expect($$("[data-testid=events] li")).toHaveLength(1);
  });
});

describe("helpers", () => {
  it("parse and phrase", () => {
    expect(parseRate(" 1e-3 ")).toBe(0.001);
    for (const bad of ["", "0", "-1", "abc", "Infinity"]) expect(parseRate(bad)).toBeNull();
    expect(commandLine({ kind: "pause", state: "sent" })).toBe("pause: requested…");
    expect(commandLine({ kind: "checkpoint", state: "failed", detail: "TypeError: x" })).toBe("checkpoint failed: TypeError: x");
    expect(eventLine({ kind: "end", ok: true, detail: "stopped by rule p", epoch: null })).toBe("end · stopped by rule p");
  });
});

describe("the stop status beside the control bar", () => {
  it("is not taken over by a steering command", () => {
    const { $, update } = setup(snapshot());
    const command = { id: "c9", kind: "pause", target: id, state: "acknowledged", detail: "", mine: true, sent_at: NOW };
    update(snapshot({ commands: [command] }));
    expect($("[data-testid=stop-button]").hidden).toBe(false);
    expect($("[data-testid=stop-status]").hidden).toBe(true);
  });
});
