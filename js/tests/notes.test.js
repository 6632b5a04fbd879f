// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import { mount } from "../widget.js";
import { pendingNotes } from "../notes.js";
import { fakeEnv, fakeModel, NOW, runningTraining, snapshot, training } from "./fixtures.js";

const fired = (id, overrides = {}) => ({ id, kind: "rule", at: NOW, ok: true, detail: `below-loss: when loss <= 2 → notify: loss = 0.4${id}`,
  sender: null, command_id: null, epoch: 0, step: 50, values: { id: "below-loss", when: "below", action: "notify" }, ...overrides });

describe("pendingNotes", () => {
  it("keeps notify firings of live (or seen live) trainings, not dismissed ones", () => {
    const live = runningTraining({ events: [fired("a"), fired("b", { ok: false }), fired("c", { values: { action: "stop" } })] });
    const old = training({ number: 1, events: [fired("d")] });
    expect(pendingNotes([live, old], new Set(), new Set()).map((n) => n.id)).toEqual(["a"]);
    expect(pendingNotes([live, old], new Set([old.training_id]), new Set(["a"])).map((n) => n.id)).toEqual(["d"]);
  });
});

describe("the notification banner", () => {
  let cleanup = null;
  const shown = [];
  afterEach(() => {
    cleanup?.();
    document.body.replaceChildren();
    shown.length = 0;
    delete globalThis.Notification;
  });

  function setup(permission) {
    // The browser's Notification, as far as the widget uses it.
    globalThis.Notification = class {
      static permission = permission;
      static async requestPermission() {
        globalThis.Notification.permission = "granted";
        return "granted";
      }
      constructor(title, options) {
        shown.push([title, options.body]);
      }
    };
    const model = fakeModel(snapshot({ trainings: [runningTraining({ events: [fired("old")] })] }));
    const el = document.createElement("div");
    document.body.append(el);
    const env = fakeEnv();
    cleanup = mount(model, el, env);
    const update = (next) => {
      model.push(next);
      env.flush();
    };
    return { $: (sel) => el.querySelector(sel), $$: (sel) => [...el.querySelectorAll(sel)], update };
  }

  it("shows each firing until dismissed, and notifies of new ones only", () => {
    const { $, $$, update } = setup("granted");
    expect($$("[data-testid=notify-banner]")).toHaveLength(1);
    expect(shown).toEqual([]); // there before this view: no ring on a reload
    const evil = "<img src=x onerror=alert(1)>";
    update(snapshot({ trainings: [runningTraining({ events: [fired("old"), fired("new", { detail: evil })] })] }));
    expect($$("[data-testid=notify-banner]").map((b) => b.textContent)).toEqual([
      expect.stringContaining("Training #3: below-loss"), expect.stringContaining(`Training #3: ${evil}`)]);
    expect($("[data-testid=notes] img")).toBeNull();
    expect(shown).toEqual([["mnist-mlp #3", evil]]);
    $("[data-testid=note-dismiss]").click();
    expect($$("[data-testid=notify-banner]")).toHaveLength(1);
    expect($("[data-testid=notify-permission]").hidden).toBe(true); // already allowed
  });

  it("offers Notify me while a notify rule is there, until the user answered", async () => {
    const { $, update } = setup("default");
    const allow = $("[data-testid=notify-permission]");
    expect(allow.hidden).toBe(false); // a note shows
    $("[data-testid=note-dismiss]").click();
    expect(allow.hidden).toBe(true);
    update(snapshot({ trainings: [runningTraining({ events: [fired("old")], rules: [{ id: "r", action: "notify", describe: "r" }] })] }));
    expect(allow.hidden).toBe(false);
    allow.click();
    await Promise.resolve();
    await Promise.resolve();
    expect(allow.hidden).toBe(true);
  });
});
