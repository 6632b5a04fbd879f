// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import widget, { mount } from "../widget.js";
import { NO_ANSWER_HINT } from "../stopview.js";
import { epochRecord, fakeEnv, fakeModel, NOW, runningTraining, snapshot, training } from "./fixtures.js";

let cleanups = [];
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
  document.body.replaceChildren();
});

function setup(state = snapshot(), traits = {}) {
  const model = fakeModel(state, traits);
  const el = document.createElement("div");
  document.body.append(el);
  const env = fakeEnv();
  const cleanup = mount(model, el, env);
  cleanups.push(cleanup);
  const $ = (sel) => el.querySelector(sel);
  const $$ = (sel) => [...el.querySelectorAll(sel)];
  const update = (next) => {
    model.push(next);
    env.flush();
  };
  return { model, el, env, cleanup, $, $$, update };
}

const tid = (n) => `${n}`.padStart(16, "0");
const running = snapshot().trainings[0];

describe("header", () => {
  it("shows the model, its short public id and the connection", () => {
    const { $ } = setup();
    expect($(".dltrack-monitor")).not.toBeNull();
    expect($("[data-testid=model-name]").textContent).toBe("mnist-mlp");
    expect($("[data-testid=model-key]").textContent).toBe("id_3f9a2…");
    expect($("[data-testid=connection]").textContent).toBe("live · amqp://user:***@host/vh");
    expect($("[data-testid=connection]").dataset.status).toBe("live");
  });
  it("says when the store is unreachable, and nothing while it works", () => {
    const conn = snapshot().connection;
    const { $, update } = setup(snapshot({ connection: { ...conn, store_status: "following" } }));
    const store = $("[data-testid=store-status]");
    expect(store.hidden).toBe(true);
    update(snapshot({ connection: { ...conn, store_status: "reconnecting", store_detail: "lost the store's listeners" } }));
    expect(store.hidden).toBe(false);
    expect(store.textContent).toBe("store: reconnecting");
    expect(store.title).toBe("lost the store's listeners");
    update(snapshot({ connection: { ...conn, store_status: "polling" } }));
    expect(store.hidden).toBe(true);
  });
  it("shows no controls to a read-only share, and all of them otherwise", () => {
    const readOnly = setup(snapshot(), { can_control: false });
    expect(readOnly.$(".dltrack-monitor").classList.contains("dltrack-read-only")).toBe(true);
    // The controls the stylesheet hides there: the stop, rename and delete buttons.
    expect(readOnly.$(".dltrack-read-only .dltrack-stop [data-testid=stop-button]")).not.toBeNull();
    expect(readOnly.$(".dltrack-read-only [data-testid=model-menu]")).not.toBeNull();
    const owner = setup(snapshot(), { can_control: true });
    expect(owner.$(".dltrack-monitor").classList.contains("dltrack-read-only")).toBe(false);
    owner.model.set("can_control", false);
    expect(owner.$(".dltrack-monitor").classList.contains("dltrack-read-only")).toBe(true);
  });
  it("shows an error panel instead of the monitor", () => {
    const { $ } = setup(snapshot({ error: "Unknown model key 'abc'.", model: null, trainings: [] }));
    const error = $("[data-testid=error]");
    expect(error.hidden).toBe(false);
    expect(error.textContent).toContain("Unknown model key 'abc'.");
    expect($(".dltrack-body").hidden).toBe(true);
  });
});

describe("epoch bars of the running training", () => {
  it("draws finished epochs full and the current one filling", () => {
    const { $$ } = setup();
    const bars = $$("[data-testid=epoch-bar]");
    expect(bars.map((b) => b.dataset.epoch)).toEqual(["1", "2", "3", "4"]);
    const current = bars[3];
    expect(current.dataset.state).toBe("current");
    const text = current.textContent;
    for (const part of ["Epoch 4/20", "31/50", "12.3 it/s", "00:03 elapsed", "ETA 00:02", "loss 0.41", "accuracy 0.88"]) {
      expect(text).toContain(part);
    }
    expect(current.querySelector(".dltrack-bar-fill").style.width).toBe("62%");
    expect(bars[0].querySelector(".dltrack-bar-fill").style.width).toBe("100%");
  });
  it("shows val_ metrics on finished epochs", () => {
    const { $$ } = setup();
    const first = $$("[data-testid=epoch-bar]")[0].textContent;
    expect(first).toContain("Epoch 1/20");
    expect(first).toContain("50/50");
    expect(first).toContain("loss 0.5 · val_loss 0.55 · accuracy 0.8 · val_accuracy 0.78");
  });
  it("is indeterminate when the step count is unknown", () => {
    const t = runningTraining({ current: { ...running.current, steps: null } });
    const { $ } = setup(snapshot({ trainings: [t] }));
    const bar = $("[data-testid=epoch-bar][data-epoch='4']");
    expect(bar.querySelector(".dltrack-bar-indeterminate")).not.toBeNull();
    expect(bar.textContent).toContain("31 steps · 12.3 it/s");
    expect(bar.textContent).not.toContain("ETA");
  });
  it("says prominently when contact is lost", () => {
    const t = runningTraining({ status: "lost", last_seen: NOW - 12 });
    const { $ } = setup(snapshot({ trainings: [t] }));
    expect($("[data-testid=lost]").hidden).toBe(false);
    expect($("[data-testid=lost]").textContent).toContain("lost contact 12s ago");
  });
  it("folds older epochs into an expandable count", () => {
    const epochs = Array.from({ length: 40 }, (_, e) => epochRecord(e, { loss: 1 / (e + 1) }));
    const t = runningTraining({ epochs, epochs_done: 40, epochs_planned: 100, current: { ...running.current, epoch: 40 } });
    const { $, $$ } = setup(snapshot({ trainings: [t] }));
    expect($$("[data-testid=epoch-bar]")).toHaveLength(10);
    expect($$("[data-testid=epoch-bar]")[9].dataset.epoch).toBe("41");
    const toggle = $("[data-testid=bars-toggle]");
    expect(toggle.textContent).toContain("31 earlier epochs");
    toggle.click();
    expect($$("[data-testid=epoch-bar]")).toHaveLength(41);
    toggle.click();
    expect($$("[data-testid=epoch-bar]")).toHaveLength(10);
  });
  it("reuses bar nodes across updates", () => {
    const { $, update } = setup();
    const before = $("[data-testid=epoch-bar][data-epoch='1']");
    const current = $("[data-testid=epoch-bar][data-epoch='4']");
    update(snapshot({ now: NOW + 1, trainings: [runningTraining({ current: { ...running.current, step: 40 } })] }));
    expect($("[data-testid=epoch-bar][data-epoch='1']")).toBe(before);
    expect($("[data-testid=epoch-bar][data-epoch='4']")).toBe(current);
    expect(current.textContent).toContain("40/50");
  });
});

describe("hostile names", () => {
  it("shows HTML in names as text", () => {
    const evil = '<img src=x onerror="window.pwned=1">';
    const t = runningTraining({
      current: { ...running.current, logs: { [evil]: 1 } },
      stop: { sender: `<b>${evil}</b>`, kind: "stop", epoch: null, step: null },
    });
    const { el, $ } = setup(snapshot({ model: { key: "k", name: evil }, trainings: [t], connection: { status: "live", detail: evil } }));
    expect(el.querySelector("img")).toBeNull();
    expect(el.querySelector("b")).toBeNull();
    expect($("[data-testid=model-name]").textContent).toBe(evil);
    expect($("[data-testid=connection]").textContent).toContain(evil);
    expect($("[data-testid=epoch-bar][data-epoch='4']").textContent).toContain(`${evil} 1`);
    expect($("[data-testid=stop-status]").textContent).toContain(`stop requested by <b>${evil}</b>…`);
    expect(window.pwned).toBeUndefined();
  });
});

describe("stop flow", () => {
  it("confirms inline, sends, and follows the command to the end", () => {
    const { model, $, update } = setup();
    const status = () => $("[data-testid=stop-status]");
    $("[data-testid=stop-button]").click();
    expect($("[data-testid=stop-confirm]").hidden).toBe(false);
    expect($("[data-testid=stop-confirm]").textContent).toContain("Stop training #3?");
    expect($("[data-testid=stop-button]").hidden).toBe(true);
    expect(model.sent).toEqual([]);

    $("[data-testid=stop-now]").click();
    expect(model.sent).toEqual([{ action: "stop", training_id: running.training_id, after_epoch: false }]);
    expect($("[data-testid=stop-confirm]").hidden).toBe(true);
    expect(status().textContent).toBe("stop requested…");

    const command = { id: "c1", kind: "stop", target: running.training_id, state: "sent", detail: "", sent_at: NOW };
    update(snapshot({ commands: [command] }));
    expect(status().textContent).toBe("stop requested…");
    update(snapshot({ commands: [{ ...command, state: "acknowledged" }] }));
    expect(status().textContent).toBe("acknowledged — stopping after the current batch");
    expect(status().dataset.phase).toBe("acknowledged");

    const stopped = runningTraining({ status: "stopped", ended_at: NOW, stop: { sender: "me", kind: "stop", epoch: 3, step: 31, requested_at: NOW } });
    update(snapshot({ trainings: [stopped], commands: [{ ...command, state: "acknowledged" }] }));
    expect(status().textContent).toBe("stopped at epoch 4, step 31");
    expect($("[data-testid=stop-button]").hidden).toBe(true);
    expect($("[data-testid=training-row][data-number='3']").dataset.status).toBe("stopped");
  });
  it("stops after the epoch, or cancels without sending", () => {
    const { model, $ } = setup();
    $("[data-testid=stop-button]").click();
    $("[data-testid=stop-cancel]").click();
    expect(model.sent).toEqual([]);
    expect($("[data-testid=stop-button]").hidden).toBe(false);
    $("[data-testid=stop-button]").click();
    $("[data-testid=stop-after-epoch]").click();
    expect(model.sent).toEqual([{ action: "stop", training_id: running.training_id, after_epoch: true }]);
    expect($("[data-testid=stop-status]").textContent).toContain("stop requested…");
  });
  it("offers now / after this epoch / save and stop from the keyboard", () => {
    const { model, $, update } = setup();
    $("[data-testid=stop-button]").click();
    expect(document.activeElement).toBe($("[data-testid=stop-now]"));
    const key = (k) => document.activeElement.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true }));
    key("ArrowRight");
    expect(document.activeElement).toBe($("[data-testid=stop-after-epoch]"));
    key("ArrowRight");
    expect(document.activeElement).toBe($("[data-testid=stop-save]"));
    key("Escape");
    expect($("[data-testid=stop-confirm]").hidden).toBe(true);
    expect(document.activeElement).toBe($("[data-testid=stop-button]"));
    $("[data-testid=stop-button]").click();
    $("[data-testid=stop-save]").click();
    expect(model.sent).toEqual([{ action: "stop", training_id: running.training_id, save: true }]);
    expect($("[data-testid=stop-status]").textContent).toBe("stop requested… (saving first)");
    const command = { id: "c1", kind: "save_and_stop", target: running.training_id, state: "acknowledged", detail: "", sent_at: NOW };
    update(snapshot({ commands: [command] }));
    expect($("[data-testid=stop-status]").textContent).toBe("acknowledged — saving, then stopping after the current batch");
  });
  it("tells how else to stop when no answer comes within 2 s", () => {
    const { $, env } = setup();
    $("[data-testid=stop-button]").click();
    $("[data-testid=stop-now]").click();
    env.advance(1999, { ticks: false });
    expect($("[data-testid=stop-status]").textContent).not.toContain("No answer");
    // On time, without waiting for the once-a-second clock tick.
    env.advance(1, { ticks: false });
    expect($("[data-testid=stop-status]").textContent).toContain(NO_ANSWER_HINT);
  });
  it("reports refusals and undelivered stops, and lets the user retry", () => {
    const { model, $, update } = setup();
    $("[data-testid=stop-button]").click();
    $("[data-testid=stop-now]").click();
    const command = { id: "c1", kind: "stop", target: running.training_id, state: "refused", detail: "sender not allowed", sent_at: NOW };
    update(snapshot({ commands: [command] }));
    expect($("[data-testid=stop-status]").textContent).toBe("refused: sender not allowed");
    expect($("[data-testid=stop-button]").hidden).toBe(false);

    $("[data-testid=stop-button]").click();
    $("[data-testid=stop-now]").click();
    expect(model.sent).toHaveLength(2);
    // The earlier refusal belongs to the first click, not this one.
    expect($("[data-testid=stop-status]").textContent).toBe("stop requested…");
    update(snapshot({ commands: [command, { ...command, id: "c2", state: "undelivered", detail: "" }] }));
    expect($("[data-testid=stop-status]").textContent).toBe("no training of this key is running");
  });
});

describe("an epoch cut short by a stop", () => {
  // Keras ends the epoch it stopped in (on_epoch_end, with validation): its record holds the
  // batches really done, 20 of the 90 planned.
  const stoppedAt = (steps) => {
    const t = runningTraining({ params: { epochs: 20, steps: 90 }, current: { ...running.current, steps: 90, step: steps } });
    const partial = epochRecord(3, { loss: 0.4, val_loss: 0.45 }, { steps });
    return {
      live: t,
      stopped: { ...t, status: "stopped", current: null, epochs: [...t.epochs.map((e) => ({ ...e, steps: 90 })), partial], epochs_done: 4 },
    };
  };
  it("draws the stopped epoch against the planned steps and marks it partial", () => {
    const { live, stopped } = stoppedAt(20);
    const { $, update } = setup(snapshot({ trainings: [live] }));
    update(snapshot({ trainings: [stopped] }));
    const bar = $("[data-testid=epoch-bar][data-epoch='4']");
    expect(bar.dataset.state).toBe("done");
    expect(bar.textContent).toContain("20/90 (partial)");
    expect(bar.textContent).not.toContain("20/20");
    expect(bar.dataset.partial).toBe("true");
    expect(bar.querySelector(".dltrack-bar-fill").style.width).toBe("22.2%");
    const full = $("[data-testid=epoch-bar][data-epoch='3']");
    expect(full.textContent).toContain("90/90");
    expect(full.dataset.partial).toBeUndefined();
  });
  it("marks the partial epoch in the epoch table", () => {
    const { stopped } = stoppedAt(20);
    const { $ } = setup(snapshot({ trainings: [stopped] }));
    const row = $("[data-testid=epoch-table] tbody tr[data-epoch='4']");
    expect(row.dataset.partial).toBe("true");
    expect(row.firstChild.textContent).toBe("4 (partial)");
    expect(row.firstChild.getAttribute("title")).toBe("stopped after 20 of 90 steps");
    expect($("[data-testid=epoch-table] tbody tr[data-epoch='3']").dataset.partial).toBeUndefined();
  });
});

describe("a training with a single epoch", () => {
  const one = training({ epochs: [epochRecord(0, { loss: 0.5, val_loss: 0.6 })], epochs_done: 1, epochs_planned: 1 });
  it("charts each series as one point, its best at that epoch", () => {
    const { $, $$ } = setup(snapshot({ trainings: [one] }));
    const items = $$("[data-testid=chart][data-metric=loss] [data-testid=legend-item]");
    expect(items.map((i) => [i.dataset.role, i.dataset.points])).toEqual([["train", "1"], ["val", "1"]]);
    expect(items.map((i) => i.querySelector("[data-testid=legend-best]").textContent)).toEqual(["best 0.5 @ epoch 1", "best 0.6 @ epoch 1"]);
    expect($("[data-testid=details] .dltrack-live-meta").textContent).toMatch(/^1 epoch · /);
  });
  it("follows more epochs as they arrive", () => {
    const { $$, update } = setup(snapshot({ trainings: [one] }));
    update(snapshot({ trainings: [{ ...one, epochs: [...one.epochs, epochRecord(1, { loss: 0.4, val_loss: 0.5 })] }] }));
    const items = $$("[data-testid=chart][data-metric=loss] [data-testid=legend-item]");
    expect(items.map((i) => i.dataset.points)).toEqual(["2", "2"]);
    expect(items[0].querySelector("[data-testid=legend-value]").textContent).toBe("0.4");
  });
});

describe("the history and stop_route traits", () => {
  it("takes finished trainings' epochs from `history`", () => {
    const s = snapshot();
    const history = {};
    for (const t of s.trainings.slice(1)) {
      history[t.training_id] = t.epochs;
      t.epochs = null;
    }
    const { model, $, $$, env } = setup(s, { history });
    $("[data-testid=training-row][data-number='1']").click();
    expect($$("[data-testid=epoch-table] tbody tr")).toHaveLength(3);
    expect($("[data-testid=chart][data-metric=loss] [data-testid=legend-item]").dataset.points).toBe("3");
    // A training that just finished moves its epochs to `history`.
    const finished = { ...s.trainings[0], status: "completed", current: null, epochs: null };
    model.set("history", { ...history, [finished.training_id]: runningTraining().epochs });
    model.push({ ...s, trainings: [finished, ...s.trainings.slice(1)] });
    env.flush();
    $("[data-testid=training-row][data-number='3']").click();
    expect($$("[data-testid=epoch-table] tbody tr")).toHaveLength(3);
  });
  it("suggests ■ at once when clicks wait for the running cell", () => {
    const { $, model, env } = setup(snapshot(), { stop_route: "interrupt" });
    $("[data-testid=stop-button]").click();
    $("[data-testid=stop-now]").click();
    expect($("[data-testid=stop-status]").textContent).toContain(NO_ANSWER_HINT);
    model.set("stop_route", "subshell");
    env.flush();
    expect($("[data-testid=stop-status]").textContent).not.toContain(NO_ANSWER_HINT);
  });
});

describe("trainings list and details", () => {
  it("lists every training newest first with status and notes", () => {
    const { $$ } = setup();
    const rows = $$("[data-testid=trainings-table] [data-testid=training-row]");
    expect(rows.map((r) => [r.dataset.number, r.dataset.status])).toEqual([
      ["3", "running"],
      ["2", "stopped"],
      ["1", "completed"],
    ]);
    const stopped = rows[1].textContent;
    expect(stopped).toContain("stopped by alice@laptop at epoch 2, step 17");
    expect(stopped).toContain("3 / 3");
    expect(rows[2].textContent).toContain("0.93 / val 0.91");
    expect(rows[2].querySelector(".dltrack-status-completed")).not.toBeNull();
  });
  it("selects the running training by default, and another by click", () => {
    const { $, $$ } = setup();
    expect($("[data-testid=details]").dataset.trainingId).toBe(tid(3));
    $("[data-testid=training-row][data-number='1']").click();
    expect($("[data-testid=details]").dataset.trainingId).toBe(tid(1));
    expect($("[data-testid=training-row][data-number='1']").getAttribute("aria-selected")).toBe("true");
    const head = $$("[data-testid=epoch-table] thead th").map((th) => th.textContent);
    expect(head).toEqual(["epoch", "duration", "loss", "val_loss", "accuracy", "val_accuracy"]);
    const rows = $$("[data-testid=epoch-table] tbody tr");
    expect(rows.map((r) => r.firstChild.textContent)).toEqual(["1", "2", "3"]);
    expect(rows[0].textContent).toContain("0.55");
  });
  it("draws one chart per metric with its val_ twin", () => {
    const { $, $$ } = setup();
    expect($$("[data-testid=chart]").map((c) => c.dataset.metric)).toEqual(["loss", "accuracy"]);
    const loss = $("[data-testid=chart][data-metric=loss]");
    const items = [...loss.querySelectorAll("[data-testid=legend-item]")];
    expect(items.map((i) => [i.dataset.role, i.dataset.points])).toEqual([["train", "3"], ["val", "3"]]);
    expect(loss.querySelectorAll("[data-testid=legend-training]")).toHaveLength(1);
  });
  it("overlays checked trainings and highlights differing params", () => {
    const s = snapshot();
    s.trainings[2].params = { ...s.trainings[2].params, learning_rate: 0.01 };
    const { $, $$ } = setup(s);
    $("[data-testid=training-row][data-number='1'] input[type=checkbox]").click();
    expect($("[data-testid=details]").dataset.trainingId).toBe(tid(3));
    const rows = $$("[data-testid=chart][data-metric=loss] [data-testid=legend-training]");
    expect(rows.map((r) => [r.querySelector(".dltrack-legend-training").textContent, r.querySelectorAll("[data-testid=legend-item]").length])).toEqual([["#3", 2], ["#1", 2]]);
    const diff = $$("[data-testid=params-table] tr.dltrack-diff").map((r) => r.dataset.param);
    expect(diff).toEqual(["epochs", "learning_rate"]);
    $("[data-testid=clear-compare]").click();
    expect($$("[data-testid=chart][data-metric=loss] [data-testid=legend-item]")).toHaveLength(2);
  });
  it("deletes a training after an inline confirmation", () => {
    const { model, $ } = setup();
    expect($("[data-testid=delete-training]").disabled).toBe(true);
    $("[data-testid=training-row][data-number='2']").click();
    $("[data-testid=delete-training]").click();
    expect($("[data-testid=delete-training-confirm]").textContent).toContain("Delete training #2 and its 3 epochs?");
    expect(model.sent).toEqual([]);
    $("[data-testid=confirm-delete]").click();
    expect(model.sent).toEqual([{ action: "delete_training", training_id: tid(2) }]);
  });
  it("deletes and renames the model", () => {
    const { model, $ } = setup();
    $("[data-testid=delete-model]").click();
    expect($("[data-testid=delete-model-confirm]").textContent).toContain("and all its 3 trainings?");
    $("[data-testid=confirm-delete-model]").click();
    $("[data-testid=rename-model]").click();
    const input = $("[data-testid=rename-input]");
    expect(input.value).toBe("mnist-mlp");
    input.value = "  resnet  ";
    $("[data-testid=rename-save]").click();
    expect(model.sent).toEqual([{ action: "delete_model" }, { action: "rename_model", name: "resnet" }]);
  });
  it("rewrites only the rows that changed", () => {
    const { $, update } = setup();
    const row = $("[data-testid=training-row][data-number='1']");
    const cell = row.cells[5].firstChild;
    update(snapshot({ now: NOW + 0.5, trainings: [runningTraining({ current: { ...running.current, step: 45 } }), ...snapshot().trainings.slice(1)] }));
    expect($("[data-testid=training-row][data-number='1']")).toBe(row);
    expect(row.cells[5].firstChild).toBe(cell);
  });
});

describe("scale", () => {
  it("stays bounded with 1000 epochs × 50 trainings", () => {
    const epochs = Array.from({ length: 1000 }, (_, e) => epochRecord(e, { loss: 1 / (e + 1), val_loss: 1.1 / (e + 1) }));
    const trainings = Array.from({ length: 50 }, (_, i) =>
      training({ number: 50 - i, epochs, epochs_done: 1000, epochs_planned: 1000, params: { lr: i } }),
    );
    trainings[0] = runningTraining({ number: 50, epochs, epochs_done: 1000, epochs_planned: 2000, current: { ...running.current, epoch: 1000 } });
    const { $, $$ } = setup(snapshot({ trainings }));
    expect($$("[data-testid=training-row]")).toHaveLength(50);
    expect($$("[data-testid=epoch-bar]")).toHaveLength(10);
    expect($$("[data-testid=epoch-table] tbody tr")).toHaveLength(200);
    for (const row of $$("[data-testid=training-row]").slice(1, 10)) row.querySelector("input").click();
    const items = $$("[data-testid=chart][data-metric=loss] [data-testid=legend-item]");
    expect(items).toHaveLength(20);
    expect($$("[data-testid=chart][data-metric=loss] [data-testid=legend-training]")).toHaveLength(10);
    for (const item of items) expect(Number(item.dataset.points)).toBe(1000);
    $("[data-testid=epoch-table-toggle]").click();
    expect($$("[data-testid=epoch-table] tbody tr")).toHaveLength(1000);
  });
});

describe("lifecycle", () => {
  it("coalesces bursts of updates into one frame", () => {
    const { model, env } = setup();
    for (let i = 0; i < 5; i++) model.push(snapshot({ now: NOW + i }));
    expect(env.frames.size).toBe(1);
  });
  it("cleanup removes listeners, frames, timers, the clock and the DOM", () => {
    const { model, env, el, $, cleanup } = setup();
    $("[data-testid=stop-button]").click();
    $("[data-testid=stop-now]").click();
    expect(env.timeouts.size).toBe(1);
    model.push(snapshot({ now: NOW + 1 }));
    expect(model.listenerCount()).toBe(5); // state, history, stop_route, can_control, ui_state
    cleanup();
    expect(model.listenerCount()).toBe(0);
    expect(env.frames.size).toBe(0);
    expect(env.intervals.size).toBe(0);
    expect(env.timeouts.size).toBe(0);
    expect(el.querySelector(".dltrack-monitor")).toBeNull();
  });
  it("works through the anywidget entry point with real animation frames", async () => {
    const model = fakeModel(snapshot());
    const el = document.createElement("div");
    const cleanup = widget.render({ model, el });
    expect(typeof cleanup).toBe("function");
    expect(el.querySelectorAll("[data-testid=epoch-bar]")).toHaveLength(4);
    model.push(snapshot({ trainings: [runningTraining({ current: { ...running.current, step: 49 } })] }));
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    expect(el.querySelector("[data-testid=epoch-bar][data-epoch='4']").textContent).toContain("49/50");
    cleanup();
    expect(model.listenerCount()).toBe(0);
  });
});
