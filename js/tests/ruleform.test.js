// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import { mount } from "../widget.js";
import { freshId, ruleFromForm } from "../ruleform.js";
import { fakeEnv, fakeModel, runningTraining, snapshot } from "./fixtures.js";

const base = { metric: "val_loss", when: "below", amount: "0.2", action: "notify", factor: "" };

describe("ruleFromForm", () => {
  it("makes the flat rule the CLI sends, named WHEN-METRIC", () => {
    expect(ruleFromForm(base)).toEqual({ rule: { id: "below-val_loss", when: "below", action: "notify", metric: "val_loss", value: 0.2 } });
    expect(ruleFromForm({ ...base, when: "above", metric: " val_accuracy ", amount: "0.98", action: "save_and_stop" }).rule)
      .toEqual({ id: "above-val_accuracy", when: "above", action: "save_and_stop", metric: "val_accuracy", value: 0.98 });
    expect(ruleFromForm({ ...base, when: "plateau", amount: "2", action: "set_lr", factor: "0.5" }).rule)
      .toEqual({ id: "plateau-val_loss", when: "plateau", action: "set_lr", metric: "val_loss", patience: 2, factor: 0.5 });
    expect(ruleFromForm({ ...base, when: "nan", amount: "", action: "stop" }).rule)
      .toEqual({ id: "nan-val_loss", when: "nan", action: "stop", metric: "val_loss" });
    expect(ruleFromForm({ ...base, metric: "", when: "after", amount: "30", action: "checkpoint" }).rule)
      .toEqual({ id: "after-30m", when: "after", action: "checkpoint", value: 30 });
  });

  it("says what is wrong and makes nothing", () => {
    const error = (fields) => ruleFromForm({ ...base, ...fields }).error;
    expect(error({ metric: "  " })).toBe("name a metric, e.g. val_loss");
    expect(error({ amount: "" })).toBe("the value must be a number");
    expect(error({ amount: "abc" })).toBe("the value must be a number");
    expect(error({ amount: "Infinity" })).toBe("the value must be a number");
    expect(error({ when: "plateau", amount: "1.5" })).toMatch(/whole number/);
    expect(error({ when: "plateau", amount: "0" })).toMatch(/whole number/);
    expect(error({ when: "after", amount: "-1" })).toMatch(/minutes above 0/);
    expect(error({ action: "set_lr", factor: "0" })).toMatch(/factor must be a number above 0/);
    expect(error({ action: "set_lr", factor: "-2" })).toMatch(/factor/);
    expect(error({ action: "set_lr", factor: "" })).toMatch(/factor/);
    expect(error({ metric: "m".repeat(101) })).toMatch(/at most 100/);
    expect(error({ when: "sometimes" })).toBe("choose a condition");
    expect(error({ action: "explode" })).toBe("choose an action");
  });

  it("never reuses an id the training holds, and keeps ids within 40 characters", () => {
    expect(ruleFromForm(base, ["below-val_loss"]).rule.id).toBe("below-val_loss-2");
    expect(freshId("a", ["a", "a-2"])).toBe("a-3");
    const long = "x".repeat(60);
    expect(freshId(long, [])).toHaveLength(40);
    expect(freshId(long, [long.slice(0, 40)])).toMatch(/^x{38}-2$/);
  });
});

describe("the form in the rules panel", () => {
  let cleanup = null;
  afterEach(() => {
    cleanup?.();
    document.body.replaceChildren();
  });

  function setup() {
    const model = fakeModel(snapshot());
    const el = document.createElement("div");
    document.body.append(el);
    cleanup = mount(model, el, fakeEnv());
    return { model, $: (sel) => el.querySelector(sel), el };
  }
  const fill = (input, value) => {
    input.value = value;
    input.dispatchEvent(new Event("change"));
  };

  it("sends add_rule for the running training, or an inline error and nothing", () => {
    const { model, $ } = setup();
    const id = runningTraining().training_id;
    fill($("[data-testid=rule-metric]"), "");
    fill($("[data-testid=rule-amount]"), "0.5");
    $("[data-testid=rule-add]").click();
    expect($("[data-testid=rule-error]").textContent).toBe("name a metric, e.g. val_loss");
    fill($("[data-testid=rule-metric]"), "loss");
    fill($("[data-testid=rule-action]"), "set_lr");
    expect($("[data-testid=rule-factor]").hidden).toBe(false);
    fill($("[data-testid=rule-factor]"), "-1");
    $("[data-testid=rule-add]").click();
    expect($("[data-testid=rule-error]").textContent).toMatch(/factor/);
    expect(model.sent).toEqual([]);
    fill($("[data-testid=rule-factor]"), "0.5");
    $("[data-testid=rule-add]").click();
    expect($("[data-testid=rule-error]").textContent).toBe("");
    // Enter in a field adds too; a second rule of the same shape gets its own id.
    $("[data-testid=rule-factor]").dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    expect(model.sent).toEqual([
      { action: "add_rule", training_id: id, args: { id: "above-loss", when: "above", action: "set_lr", metric: "loss", value: 0.5, factor: 0.5 } },
      { action: "add_rule", training_id: id, args: { id: "above-loss-2", when: "above", action: "set_lr", metric: "loss", value: 0.5, factor: 0.5 } },
    ]);
  });

  it("offers the metrics seen so far and hides the fields a condition does not use", () => {
    const { $, el } = setup();
    const offered = [...el.querySelectorAll("datalist option")].map((o) => o.getAttribute("value"));
    expect(offered).toEqual(expect.arrayContaining(["loss", "val_loss"]));
    expect($("[data-testid=rule-metric]").getAttribute("list")).toBe(el.querySelector("datalist").id);
    fill($("[data-testid=rule-when]"), "nan");
    expect($("[data-testid=rule-amount]").hidden).toBe(true);
    fill($("[data-testid=rule-when]"), "after");
    expect($("[data-testid=rule-metric]").hidden).toBe(true);
    expect($("[data-testid=rule-amount]").hidden).toBe(false);
  });
});
