// Text formatting for the monitor. Pure functions: no DOM, no clock (callers pass `now`).

import { isFiniteNumber } from "./guards.js";

const DASH = "—";

const pad2 = (n) => String(n).padStart(2, "0");

/** Human duration: "12.4s", "3m 05s", "1h 02m", "2d 03h"; "—" when unknown or negative. */
export function formatDuration(seconds) {
  if (!isFiniteNumber(seconds) || seconds < 0) return DASH;
  const tenths = Math.round(seconds * 10) / 10;
  if (tenths < 60) return `${tenths.toFixed(1)}s`;
  const whole = Math.floor(tenths);
  const s = whole % 60;
  const m = Math.floor(whole / 60) % 60;
  const h = Math.floor(whole / 3600) % 24;
  const d = Math.floor(whole / 86400);
  if (whole < 3600) return `${m}m ${pad2(s)}s`;
  if (whole < 86400) return `${h}h ${pad2(m)}m`;
  return `${d}d ${pad2(h)}h`;
}

/** tqdm-style clock for elapsed/ETA inside a bar: "00:03", "12:34", "1:02:03"; "--:--" unknown. */
export function formatClock(seconds) {
  if (!isFiniteNumber(seconds) || seconds < 0) return "--:--";
  const whole = Math.round(seconds);
  const s = whole % 60;
  const m = Math.floor(whole / 60) % 60;
  const h = Math.floor(whole / 3600);
  return h > 0 ? `${h}:${pad2(m)}:${pad2(s)}` : `${pad2(m)}:${pad2(s)}`;
}

/** Steps per second as "12.3 it/s", or "4.1 s/it" when slower than one step a second. */
export function formatRate(stepsPerSecond) {
  if (!isFiniteNumber(stepsPerSecond) || stepsPerSecond <= 0) return "? it/s";
  if (stepsPerSecond >= 1) return `${stepsPerSecond.toFixed(1)} it/s`;
  return `${(1 / stepsPerSecond).toFixed(1)} s/it`;
}

function trimZeros(fixed) {
  if (!fixed.includes(".")) return fixed;
  return fixed.replace(/0+$/, "").replace(/\.$/, "");
}

function exponential(v) {
  const [mantissa, exponent] = v.toExponential(3).split("e");
  return `${trimZeros(mantissa)}e${exponent}`;
}

/** A metric value to 4 significant digits, trailing zeros dropped: 0.41, 0.8812, 1235, 1.2e-4. */
export function formatMetric(v) {
  if (v === null || v === undefined) return DASH;
  if (typeof v !== "number") return String(v);
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return exponential(v);
  const p = v.toPrecision(4);
  return p.includes("e") ? exponential(v) : trimZeros(p);
}

/** A parameter value of any JSON type, as shown in the params table. */
export function formatValue(v) {
  if (v === null || v === undefined) return DASH;
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : formatMetric(v);
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** Local wall-clock time "2024-05-01 14:03" for a unix timestamp in seconds. */
export function formatAbsolute(unixSeconds) {
  if (!isFiniteNumber(unixSeconds)) return DASH;
  const d = new Date(unixSeconds * 1000);
  const date = `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
  return `${date} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

/** "just now", "12s ago", "3m ago", "2h ago", "3d ago"; a week or older: the absolute date. */
export function formatRelative(unixSeconds, nowSeconds) {
  if (!isFiniteNumber(unixSeconds) || !isFiniteNumber(nowSeconds)) return DASH;
  // A timestamp slightly in the future is clock skew between machines, not news.
  const ago = nowSeconds - unixSeconds;
  if (ago < 5) return "just now";
  if (ago < 60) return `${Math.floor(ago)}s ago`;
  if (ago < 3600) return `${Math.floor(ago / 60)}m ago`;
  if (ago < 86400) return `${Math.floor(ago / 3600)}h ago`;
  if (ago < 7 * 86400) return `${Math.floor(ago / 86400)}d ago`;
  return formatAbsolute(unixSeconds);
}

/** Epochs are 0-based in the data and 1-based on screen, everywhere. */
const displayEpoch = (epoch) => (isFiniteNumber(epoch) ? epoch + 1 : null);

/** "Epoch 4/20" (or "Epoch 4" when the plan is unknown) for a 0-based epoch. */
export function formatEpochLabel(epoch, planned) {
  const shown = displayEpoch(epoch) ?? "?";
  return isFiniteNumber(planned) && planned > 0 ? `Epoch ${shown}/${planned}` : `Epoch ${shown}`;
}

/** "loss 0.41 · accuracy 0.88" for the given metric names, skipping absent ones. */
export function formatLogs(logs, names) {
  const parts = [];
  for (const name of names) {
    if (logs && Object.hasOwn(logs, name)) parts.push(`${name} ${formatMetric(logs[name])}`);
  }
  return parts.join(" · ");
}
