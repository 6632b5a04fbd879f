// The live section: one panel per running (or lost) training with its epoch bars and Stop
// button. Finished epochs are full bars with their logs; the current epoch fills step by step.
import { button, h, reconcile, setAttr, setText, show, toggleClass } from "./dom.js";
import { effectiveRate, epochEta, trainingEta } from "./eta.js";
import {
  formatClock,
  formatDuration,
  formatEpochLabel,
  formatLogs,
  formatRate,
  formatRelative,
} from "./format.js";
import { orderMetrics } from "./metrics.js";
import { isLive, trainingLabel } from "./state.js";
import { epochSteps, plannedSteps } from "./steps.js";
import { createStopControl } from "./stop.js";

/** Bars shown before older epochs fold into a count. */
const BAR_LIMIT = 10;

const logText = (logs) => formatLogs(logs, orderMetrics(Object.keys(logs ?? {})));
const join = (parts) => parts.filter(Boolean).join(" · ");

function createBar() {
  const label = h("span", { class: "dltrack-bar-label" });
  const fill = h("span", { class: "dltrack-bar-fill" });
  const track = h("span", { class: "dltrack-bar-track", role: "progressbar", "aria-valuemin": 0 }, [fill]);
  const text = h("span", { class: "dltrack-bar-text" });
  const el = h("div", { class: "dltrack-bar", testid: "epoch-bar" }, [label, track, text]);
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

function updateCurrentBar(bar, training, kernelNow) {
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

function createPanel(ctx, training) {
  const { ui, signal } = ctx;
  const id = training.training_id;
  const title = h("span", { class: "dltrack-live-title" });
  const pill = h("span", { class: "dltrack-pill" });
  const meta = h("span", { class: "dltrack-live-meta" });
  const lost = h("div", { class: "dltrack-lost-banner", testid: "lost", role: "alert", hidden: true });
  const dismiss = button(
    { class: "dltrack-btn dltrack-btn-quiet", testid: "dismiss", text: "×", "aria-label": "Hide", hidden: true },
    () => {
      ui.dismissed.add(id);
      ctx.refresh();
    },
    signal,
  );
  const stop = createStopControl(ctx, id);
  const toggle = button(
    { class: "dltrack-btn dltrack-btn-quiet dltrack-bars-toggle", testid: "bars-toggle", hidden: true },
    () => {
      if (ui.expandedBars.has(id)) ui.expandedBars.delete(id);
      else ui.expandedBars.add(id);
      ctx.refresh();
    },
    signal,
  );
  const list = h("div", { class: "dltrack-bar-list" });
  const el = h("section", { class: "dltrack-live", "data-training-id": id }, [
    h("div", { class: "dltrack-live-head" }, [title, pill, meta, dismiss]),
    lost,
    stop.el,
    h("div", { class: "dltrack-bars" }, [toggle, list]),
  ]);
  return { el, title, pill, meta, lost, dismiss, stop, toggle, list, bars: new Map() };
}

function updatePanel(ctx, panel, training, view) {
  const { kernelNow } = view;
  const id = training.training_id;
  setAttr(panel.el, "data-status", training.status);
  setText(panel.title, `Training ${trainingLabel(training)}`);
  setText(panel.pill, training.status);
  setAttr(panel.pill, "class", `dltrack-pill dltrack-status-${training.status}`);
  const c = training.current;
  const total =
    training.status === "running" && c
      ? trainingEta({ ...c, rate: effectiveRate(c.rate, c.step, kernelNow - c.epoch_started_at), epochsPlanned: training.epochs_planned })
      : null;
  const planned = training.epochs_planned ? `/${training.epochs_planned}` : "";
  setText(
    panel.meta,
    join([
      `started ${formatRelative(training.started_at, kernelNow)}`,
      `${training.epochs_done}${planned} epochs`,
      total === null ? "" : `ETA ${formatClock(total)} total`,
    ]),
  );
  const isLost = training.status === "lost";
  show(panel.lost, isLost);
  if (isLost) {
    const ago = training.last_seen ? ` ${formatRelative(training.last_seen, kernelNow)}` : "";
    setText(panel.lost, `lost contact${ago} — the training may have died or be unreachable`);
  }
  show(panel.dismiss, !isLive(training));
  panel.stop.update(training, view);

  const items = barItems(training);
  const expanded = ctx.ui.expandedBars.has(id);
  const hidden = expanded ? 0 : Math.max(0, items.length - BAR_LIMIT);
  const older = Math.max(0, items.length - BAR_LIMIT);
  show(panel.toggle, older > 0);
  setText(panel.toggle, expanded ? `▾ hide ${older} earlier epochs` : `▸ ${older} earlier epoch${older === 1 ? "" : "s"}`);
  setAttr(panel.toggle, "aria-expanded", String(expanded));
  reconcile(panel.list, panel.bars, items.slice(hidden), (item) => item.key, createBar, (bar, item) => {
    if (item.current) updateCurrentBar(bar, training, kernelNow);
    else updateFinishedBar(bar, item.epoch, training.epochs_planned, plannedSteps(training));
  });
}

/**
 * Which trainings get a live panel: every running or lost one, and the newest training if this
 * viewer saw it live (so bars stay put when it ends, like a finished progress bar) until hidden.
 */
function panelTrainings(trainings, ui) {
  for (const t of trainings) if (isLive(t)) ui.seenLive.add(t.training_id);
  const newest = trainings[0];
  return trainings.filter(
    (t) => isLive(t) || (t === newest && ui.seenLive.has(t.training_id) && !ui.dismissed.has(t.training_id)),
  );
}

export function createLiveSection(ctx) {
  const el = h("div", { class: "dltrack-live-list", testid: "live" });
  const panels = new Map();
  function update(view) {
    const shown = panelTrainings(view.snap.trainings, ctx.ui);
    reconcile(el, panels, shown, (t) => t.training_id, (t) => createPanel(ctx, t), (panel, t) =>
      updatePanel(ctx, panel, t, view),
    );
  }
  return { el, update };
}
