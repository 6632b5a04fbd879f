import { describe, expect, it } from "vitest";
import { effectiveRate, epochEta, trainingEta } from "../eta.js";

describe("epochEta", () => {
  it("is the remaining steps over the rate", () => {
    expect(epochEta(31, 50, 12.3)).toBeCloseTo(19 / 12.3);
    expect(epochEta(50, 50, 10)).toBe(0);
  });
  it("is null when the steps or the rate are unknown", () => {
    expect(epochEta(31, null, 12.3)).toBeNull();
    expect(epochEta(31, 0, 12.3)).toBeNull();
    expect(epochEta(31, 50, null)).toBeNull();
    expect(epochEta(31, 50, 0)).toBeNull();
  });
  it("never goes negative when steps overshoot", () => {
    expect(epochEta(55, 50, 5)).toBe(0);
  });
});

describe("effectiveRate", () => {
  it("prefers the reported rate, else measures", () => {
    expect(effectiveRate(12.3, 31, 3)).toBe(12.3);
    expect(effectiveRate(null, 30, 3)).toBe(10);
    expect(effectiveRate(null, 0, 3)).toBeNull();
    expect(effectiveRate(null, 30, 0)).toBeNull();
  });
});

describe("trainingEta", () => {
  it("adds the later epochs at the current pace", () => {
    expect(trainingEta({ epoch: 3, step: 30, steps: 50, rate: 10, epochsPlanned: 20 })).toBeCloseTo(2 + 16 * 5);
  });
  it("is null without a plan or a step count", () => {
    expect(trainingEta({ epoch: 3, step: 30, steps: null, rate: 10, epochsPlanned: 20 })).toBeNull();
    expect(trainingEta({ epoch: 3, step: 30, steps: 50, rate: 10, epochsPlanned: null })).toBeNull();
  });
});
