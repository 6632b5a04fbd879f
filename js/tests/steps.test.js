import { describe, expect, it } from "vitest";
import { epochSteps, plannedSteps } from "../steps.js";

describe("plannedSteps", () => {
  it("reads Keras' planned steps from the params, else the current epoch", () => {
    expect(plannedSteps({ params: { steps: 90 } })).toBe(90);
    expect(plannedSteps({ params: { steps: null }, current: { steps: 50 } })).toBe(50);
    expect(plannedSteps({ params: {} })).toBeNull();
    expect(plannedSteps({ params: { steps: "90" } })).toBeNull();
    expect(plannedSteps({ params: { steps: 0 } })).toBeNull();
  });
});

describe("epochSteps", () => {
  it("shows a whole epoch as done/planned", () => {
    expect(epochSteps(90, 90)).toEqual({ text: "90/90", fraction: 1, partial: false });
  });
  it("shows an epoch stopped part-way against the plan, and marks it partial", () => {
    const s = epochSteps(20, 90);
    expect(s.text).toBe("20/90 (partial)");
    expect(s.fraction).toBeCloseTo(20 / 90);
    expect(s.partial).toBe(true);
  });
  it("does not claim a plan it does not know", () => {
    expect(epochSteps(20, null)).toEqual({ text: "20 steps", fraction: 1, partial: false });
    expect(epochSteps(null, 90)).toEqual({ text: "", fraction: 1, partial: false });
    expect(epochSteps(1, null).text).toBe("1 step");
  });
  it("never draws more than a full bar", () => {
    expect(epochSteps(95, 90)).toEqual({ text: "95/90", fraction: 1, partial: false });
  });
});
