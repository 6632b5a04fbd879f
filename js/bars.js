// Epoch bars: finished epochs are full bars with their logs; the current epoch fills step by
// step. A bar is one line: its text is cut with an ellipsis and given whole in its tooltip.
import { button, h, reconcile, setAttr, setText, show, toggleClass } from "./dom.js";
import { effectiveRate, epochEta } from "./eta.js";
import { formatClock, formatDuration, formatEpochLabel, formatLogs, formatRate } from "./format.js";
import { orderMetrics } from "./metrics.js";
import { epochSteps, plannedSteps } from "./steps.js";

/** Bars shown before older epochs fold into a count. */
const BAR_LIMIT = 10;

const logText = (logs) => formatLogs(logs, orderMetrics(Object.keys(logs ?? {})));
const join = (parts) => parts.filter(Boolean).join(" · ");

/** @param {string} [testid] */
export function createBar(testid = "epoch-bar") {
  const label = h("span", { class: "dltrack-bar-label" });
  const fill = h("span", { class: "dltrack-bar-fill" });
  const track = h("span", { class: "dltrack-bar-track", role: "progressbar", "aria-valuemin": 0 }, [fill]);
  const text = h("span", { class: "dltrack-bar-text" });
  const el = h("div", { class: "dltrack-bar", testid }, [label, track, text]);
  return { el, label, track, fill, text, signature: "" };
}

function drawBar(bar, { label, fraction, text, state }) {
  setText(bar.label, label);
  setAttr(bar.el, "data-state", state);
  const indeterminate = fraction === null;
  toggleClass(bar.track, "dltrack-bar-indeterminate", indeterminate && state === "current");
  const percent = indeterminate ? (state === "current" ? 100 : 0) : Math.round(fraction * 1000) / 10;
  const width = `${Math.min(100, Math.max(0, percent))}%`;
  if (bar.fill.style.width !== width) bar.fill.style.width = width;
  setAttr(bar.track, "aria-valuemax", indeterminate ? null : 100);
  setAttr(bar.track, "aria-valuenow", indeterminate ? null : percent);
  setAttr(bar.track, "aria-label", label);
  setText(bar.text, text);
  setAttr(bar.text, "title", text || null);
}

function updateFinishedBar(bar, epoch, planned, stepsPlanned) {
  const signature = `${planned}|${stepsPlanned}|${JSON.stringify(epoch)}`;
  if (bar.signature === signature) return;
  bar.signature = signature;
  setAttr(bar.el, "data-epoch", epoch.epoch + 1);
  const steps = epochSteps(epoch.steps, stepsPlanned);
  setAttr(bar.el, "data-partial", steps.partial ? "true" : null);
  toggleClass(bar.el, "dltrack-bar-partial", steps.partial);
  const took = epoch.ended_at && epoch.started_at ? formatDuration(epoch.ended_at - epoch.started_at) : "";
  drawBar(bar, {
    label: formatEpochLabel(epoch.epoch, planned),
    fraction: steps.fraction,
    text: join([steps.text, took, logText(epoch.logs)]),
    state: "done",
  });
}

export function updateCurrentBar(bar, training, kernelNow) {
  const c = training.current;
  bar.signature = "";
  setAttr(bar.el, "data-partial", null);
  toggleClass(bar.el, "dltrack-bar-partial", false);
  setAttr(bar.el, "data-epoch", c.epoch + 1);
  // A training that is no longer running has a frozen clock: its last sign of life.
  const clockEnd = training.status === "running" ? kernelNow : training.ended_at ?? training.last_seen ?? kernelNow;
  const elapsed = c.epoch_started_at ? Math.max(0, clockEnd - c.epoch_started_at) : null;
  const rate = effectiveRate(c.rate, c.step, elapsed);
  const known = Number.isFinite(c.steps) && c.steps > 0;
  const running = training.status === "running";
  const eta = running && known ? epochEta(c.step, c.steps, rate) : null;
  drawBar(bar, {
    label: formatEpochLabel(c.epoch, training.epochs_planned),
    fraction: known ? Math.min(1, c.step / c.steps) : null,
    text: join([
      known ? `${c.step}/${c.steps}` : `${c.step} steps`,
      formatRate(rate),
      elapsed === null ? "" : `${formatClock(elapsed)} elapsed`,
      known && running ? `ETA ${formatClock(eta)}` : "",
      logText(c.logs),
    ]),
    state: running ? "current" : "halted",
  });
}

/** The bars to draw: finished epochs, then the current one unless it already finished. */
function barItems(training) {
  const items = training.epochs.map((epoch) => ({ key: epoch.epoch, epoch }));
  const c = training.current;
  if (c && !training.epochs.some((e) => e.epoch === c.epoch)) items.push({ key: c.epoch, current: c });
  return items;
}

/**
 * The bars of one training (the Epochs tab): the last BAR_LIMIT, older ones folded into a
 * count the user can open.
 */
export function createEpochBars(ctx) {
  const { ui, signal } = ctx;
  let trainingId = "";
  const toggle = button(
    { class: "dltrack-btn dltrack-btn-quiet dltrack-bars-toggle", testid: "bars-toggle", hidden: true },
    () => {
      if (ui.expandedBars.has(trainingId)) ui.expandedBars.delete(trainingId);
      else ui.expandedBars.add(trainingId);
      ctx.refresh();
    },
    signal,
  );
  const list = h("div", { class: "dltrack-bar-list" });
  const el = h("div", { class: "dltrack-bars", testid: "epoch-bars" }, [toggle, list]);
  const bars = new Map();

  function update(training, view) {
    if (training.training_id !== trainingId) {
      trainingId = training.training_id;
      list.replaceChildren();
      bars.clear();
    }
    setAttr(el, "data-status", training.status);
    const items = barItems(training);
    const expanded = ui.expandedBars.has(trainingId);
    const older = Math.max(0, items.length - BAR_LIMIT);
    const hidden = expanded ? 0 : older;
    show(toggle, older > 0);
    setText(toggle, expanded ? `▾ hide ${older} earlier epochs` : `▸ ${older} earlier epoch${older === 1 ? "" : "s"}`);
    setAttr(toggle, "aria-expanded", String(expanded));
    reconcile(list, bars, items.slice(hidden), (item) => item.key, () => createBar(), (bar, item) => {
      if (item.current) updateCurrentBar(bar, training, view.kernelNow);
      else updateFinishedBar(bar, item.epoch, training.epochs_planned, plannedSteps(training));
    });
  }
  return { el, update };
}
