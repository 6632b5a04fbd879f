// The `dltrack serve` page's model shim: anywidget's model API over a websocket.
import { describe, expect, it } from "vitest";
import { SocketModel } from "../page.js";

describe("SocketModel", () => {
  it("emits change events for values the server sends, after storing all of them", () => {
    const model = new SocketModel(0, () => {});
    const seen = [];
    model.on("change:state", () => seen.push(["state", model.get("state"), model.get("history")]));
    model.on("change:history", () => seen.push(["history", model.get("history")]));
    model.receive({ state: { a: 1 }, history: { t: [] } });
    expect(seen).toEqual([
      ["state", { a: 1 }, { t: [] }],
      ["history", { t: [] }],
    ]);
  });

  it("off removes one handler, an event's handlers, or all", () => {
    const model = new SocketModel(0, () => {});
    let calls = 0;
    const fn = () => { calls += 1; };
    model.on("change:x", fn);
    model.off("change:x", fn);
    model.set("x", 1);
    model.on("change:x", fn);
    model.off("change:x");
    model.set("x", 2);
    model.on("change:x", fn);
    model.off();
    model.set("x", 3);
    expect(calls).toBe(0);
    expect(model.get("x")).toBe(3);
  });

  it("send wraps the content with the monitor it belongs to", () => {
    const posted = [];
    const model = new SocketModel(2, (m) => posted.push(m));
    model.send({ action: "stop", training_id: "t" });
    model.save_changes();
    expect(posted).toEqual([{ monitor: 2, content: { action: "stop", training_id: "t" } }]);
  });

  it("delivers custom messages to msg:custom handlers", () => {
    const model = new SocketModel(0, () => {});
    const got = [];
    model.on("msg:custom", (content, buffers) => got.push([content, buffers]));
    model.emit("msg:custom", { hello: 1 }, []);
    expect(got).toEqual([[{ hello: 1 }, []]]);
  });
});
