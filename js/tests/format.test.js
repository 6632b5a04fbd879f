import { describe, expect, it } from "vitest";
import {
  formatAbsolute,
  formatClock,
  formatDuration,
  formatEpochLabel,
  formatLogs,
  formatMetric,
  formatRate,
  formatRelative,
  formatValue,
} from "../format.js";

describe("formatDuration", () => {
  it.each([
    [12.44, "12.4s"],
    [0, "0.0s"],
    [59.96, "1m 00s"],
    [185, "3m 05s"],
    [3599, "59m 59s"],
    [3720, "1h 02m"],
    [86400 + 3 * 3600, "1d 03h"],
  ])("%s s → %s", (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
  it("says — for unknown or negative", () => {
    expect(formatDuration(null)).toBe("—");
    expect(formatDuration(Number.NaN)).toBe("—");
    expect(formatDuration(-1)).toBe("—");
  });
});

describe("formatClock", () => {
  it("is tqdm-like", () => {
    expect(formatClock(3)).toBe("00:03");
    expect(formatClock(754)).toBe("12:34");
    expect(formatClock(3723)).toBe("1:02:03");
    expect(formatClock(null)).toBe("--:--");
  });
});

describe("formatRate", () => {
  it("uses it/s at one step a second or more, s/it below", () => {
    expect(formatRate(12.34)).toBe("12.3 it/s");
    expect(formatRate(1)).toBe("1.0 it/s");
    expect(formatRate(1 / 4.1)).toBe("4.1 s/it");
  });
  it("is ? when unknown", () => {
    expect(formatRate(null)).toBe("? it/s");
    expect(formatRate(0)).toBe("? it/s");
  });
});

describe("formatMetric", () => {
  it.each([
    [0.41, "0.41"],
    [0.881234, "0.8812"],
    [1234.56, "1235"],
    [12.5, "12.5"],
    [1, "1"],
    [0.001, "0.001"],
    [0.000123456, "1.235e-4"],
    [123456, "1.235e+5"],
    [99999.7, "1e+5"],
    [-0.5, "-0.5"],
    [0, "0"],
  ])("%s → %s", (v, text) => {
    expect(formatMetric(v)).toBe(text);
  });
  it("names the odd values", () => {
    expect(formatMetric(Number.NaN)).toBe("NaN");
    expect(formatMetric(Infinity)).toBe("∞");
    expect(formatMetric(-Infinity)).toBe("−∞");
    expect(formatMetric(null)).toBe("—");
  });
});

describe("formatValue", () => {
  it("shows params of any JSON type", () => {
    expect(formatValue(32)).toBe("32");
    expect(formatValue(0.0003)).toBe("3e-4");
    expect(formatValue("adam")).toBe("adam");
    expect(formatValue(true)).toBe("true");
    expect(formatValue(null)).toBe("—");
    expect(formatValue([1, 2])).toBe("[1,2]");
  });
});

describe("timestamps", () => {
  const now = 1_700_000_000;
  it("relative", () => {
    expect(formatRelative(now - 2, now)).toBe("just now");
    expect(formatRelative(now + 3, now)).toBe("just now");
    expect(formatRelative(now - 12, now)).toBe("12s ago");
    expect(formatRelative(now - 185, now)).toBe("3m ago");
    expect(formatRelative(now - 2 * 3600 - 5, now)).toBe("2h ago");
    expect(formatRelative(now - 3 * 86400, now)).toBe("3d ago");
    expect(formatRelative(null, now)).toBe("—");
  });
  it("absolute, in local time; relative falls back to it after a week", () => {
    const t = new Date(2024, 4, 1, 14, 3, 30).getTime() / 1000;
    expect(formatAbsolute(t)).toBe("2024-05-01 14:03");
    expect(formatRelative(t, t + 30 * 86400)).toBe("2024-05-01 14:03");
  });
});

describe("epochs and logs", () => {
  it("shows 0-based epochs 1-based", () => {
    expect(formatEpochLabel(3, 20)).toBe("Epoch 4/20");
    expect(formatEpochLabel(0, null)).toBe("Epoch 1");
  });
  it("joins the named logs that are present", () => {
    expect(formatLogs({ loss: 0.41, accuracy: 0.88 }, ["loss", "accuracy", "val_loss"])).toBe(
      "loss 0.41 · accuracy 0.88",
    );
  });
});
