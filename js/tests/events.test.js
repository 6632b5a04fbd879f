// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { eventMarkersPlugin } from "../eventmarkers.js";
import { eventMarks, eventX, isNotification } from "../events.js";
import { NOW, epochRecord, runningTraining } from "./fixtures.js";

const event = (overrides = {}) => ({ id: "e1", kind: "set_lr", at: NOW - 500, ok: true, detail: "learning rate 0.01 → 0.005",
  sender: "bo@box (dltrack lr)", command_id: "c1", epoch: 1, step: 25, values: { old: 0.01, new: 0.005 }, ...overrides });

describe("eventX", () => {
  // 50 steps per epoch; the first epoch was cut short at 40 steps.
  const t = runningTraining({ epochs: [epochRecord(0, {}, { steps: 40 }), epochRecord(1), epochRecord(2)] });
  it("places an event by its step within its epoch, like the epochs' x", () => {
    expect(eventX(t, event(), "epoch")).toBe(1.5); // halfway through epoch 2 (1-based), whose end is x 2
    expect(eventX(t, event({ step: 50 }), "epoch")).toBe(2); // a rule judged at the end of epoch 2
    expect(eventX(t, event({ step: null }), "epoch")).toBe(2);
    expect(eventX(t, event(), "step")).toBe(40 + 25);
    expect(eventX(t, event(), "time")).toBe(100); // started NOW - 600
  });
  it("leaves out what it cannot place", () => {
    expect(eventX(t, event({ epoch: null }), "epoch")).toBeNull();
    expect(eventX(t, event({ step: null }), "step")).toBeNull();
    expect(eventX(t, event({ at: "soon" }), "time")).toBeNull();
    expect(eventX({ ...t, params: {}, current: null }, event({ epoch: 3 }), "step")).toBe(40 + 50 + 50 + 25);
  });
});

describe("eventMarks", () => {
  it("gives one marker per place, naming every event there", () => {
    const rule = event({ id: "e2", kind: "rule", sender: null, detail: "p: when val_loss <= 0.3 → set_lr x0.5: val_loss = 0.29", step: 50 });
    const lr = event({ id: "e3", step: 50, sender: "rule p" });
    const t = runningTraining({ events: [event(), rule, lr, "junk", event({ id: "e4", epoch: null })] });
    const marks = eventMarks([t], "epoch");
    expect(marks.map((m) => [m.x, m.kinds])).toEqual([[1.5, ["set_lr"]], [2, ["rule", "set_lr"]]]);
    expect(marks[0].label).toBe("epoch 2 · set_lr · learning rate 0.01 → 0.005 · by bo@box (dltrack lr)");
    expect(marks[1].label.split("\n")).toHaveLength(2);
    expect(eventMarks([runningTraining({ events: "nope" })], "epoch")).toEqual([]);
  });
  it("marks an epoch whose metrics went NaN or infinite, which the curves leave out", () => {
    const nan = { ...epochRecord(2, { acc: 0.1 }), non_finite: { loss: "nan", val_loss: "inf", x: "junk" } };
    const t = runningTraining({ epochs: [epochRecord(0), epochRecord(1), nan], events: [] });
    const marks = eventMarks([t], "epoch");
    expect(marks.map((m) => [m.x, m.kinds, m.ok])).toEqual([[3, ["non-finite"], false]]);
    expect(marks[0].label).toBe("epoch 3 · loss NaN, val_loss ∞");
    expect(eventMarks([t], "time")[0].x).toBe(nan.ended_at - t.started_at);
  });
  it("tells notify firings from other rule events", () => {
    expect(isNotification(event({ kind: "rule", values: { action: "notify" } }))).toBe(true);
    expect(isNotification(event({ kind: "rule", ok: false, values: { action: "notify" } }))).toBe(false); // not seen yet
    expect(isNotification(event({ kind: "rule", values: { action: "stop" } }))).toBe(false);
    expect(isNotification(event({ values: { action: "notify" } }))).toBe(false);
  });
});

describe("the markers plugin", () => {
  it("draws a line per mark over the plot, its names as text, and reports hovering", () => {
    const over = document.createElement("div");
    over.style.width = "400px";
    const u = { over, valToPos: (x) => x * 100 };
    const evil = "<img src=x onerror=alert(1)>";
    let marks = [{ key: "a", x: 1, kinds: ["set_lr"], ok: true, label: `set_lr by ${evil}` }, { key: "b", x: 9, kinds: ["end"], ok: true, label: "end" }];
    const hovered = [];
    const plugin = eventMarkersPlugin(() => marks, (label) => hovered.push(label));
    plugin.hooks.draw[0](u);
    const nodes = [...over.querySelectorAll("[data-testid=event-marker]")];
    expect(nodes).toHaveLength(2);
    expect(nodes[0].style.left).toBe("100px");
    expect(nodes[0].title).toBe(`set_lr by ${evil}`);
    expect(over.querySelector("img")).toBeNull();
    expect(nodes[1].hidden).toBe(true); // x 900px: outside the zoomed range
    nodes[0].dispatchEvent(new Event("mouseenter"));
    nodes[0].dispatchEvent(new Event("mouseleave"));
    expect(hovered).toEqual([`set_lr by ${evil}`, null]);
    marks = [marks[1]];
    plugin.hooks.draw[0](u);
    expect(over.querySelectorAll("[data-testid=event-marker]")).toHaveLength(1);
  });
});
