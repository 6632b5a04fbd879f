// The summary on top: one compact panel per running (or lost) training with its status, the
// current epoch's bar with ETA, Stop and the controls slot, and its key metrics with their
// best values. Its height does not grow with the epochs: those are in the Epochs tab.
import { createControls } from "./controls.js";
import { createBar, updateCurrentBar } from "./bars.js";
import { button, h, reconcile, setAttr, setText, show } from "./dom.js";
import { effectiveRate, trainingEta } from "./eta.js";
import { formatClock, formatMetric, formatRelative } from "./format.js";
import { keyMetrics } from "./metrics.js";
import { isLive, trainingLabel } from "./state.js";
import { createStopControl } from "./stop.js";

const join = (parts) => parts.filter(Boolean).join(" · ");

function createMetricChip() {
  const name = h("span", { class: "dltrack-metric-name" });
  const value = h("span", { class: "dltrack-metric-value" });
  const best = h("span", { class: "dltrack-metric-best" });
  return { el: h("span", { class: "dltrack-metric", testid: "key-metric" }, [name, value, best]), name, value, best };
}

function updateMetricChip(chip, { name, value, best }) {
  setAttr(chip.el, "data-metric", name);
  setText(chip.name, name);
  setText(chip.value, formatMetric(value));
  // The last epoch being the best is news too; an older best says which epoch.
  const isLast = best !== null && best.value === value;
  const text = best === null ? "" : isLast ? "best" : `best ${formatMetric(best.value)} @${best.epoch + 1}`;
  setAttr(chip.el, "data-best", isLast ? "last" : best ? String(best.epoch + 1) : null);
  setText(chip.best, text);
  setAttr(chip.el, "title", best ? `${name}: last ${formatMetric(value)}, best ${formatMetric(best.value)} at epoch ${best.epoch + 1}` : name);
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
  const bar = createBar("current-bar");
  const stop = createStopControl(ctx, id);
  // Where more controls go beside Stop (docs/front-end.md): filled by other modules, never here.
  const controls = h("div", { class: "dltrack-controls", testid: "controls", "data-training-id": id });
  const steering = createControls(ctx, id);
  controls.append(steering.el);
  const metrics = h("div", { class: "dltrack-key-metrics", testid: "key-metrics" });
  const el = h("section", { class: "dltrack-live", testid: "summary-panel", "data-training-id": id }, [
    h("div", { class: "dltrack-live-head" }, [title, pill, meta, dismiss]),
    lost,
    h("div", { class: "dltrack-live-row" }, [bar.el, h("div", { class: "dltrack-actions" }, [stop.el, controls])]),
    metrics,
  ]);
  return { el, title, pill, meta, lost, dismiss, bar, stop, controls, steering, metrics, chips: new Map() };
}

function updatePanel(panel, training, view) {
  const { kernelNow } = view;
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
  const metaText = join([
    `started ${formatRelative(training.started_at, kernelNow)}`,
    `${training.epochs_done}${planned} epochs`,
    total === null ? "" : `ETA ${formatClock(total)} total`,
  ]);
  setText(panel.meta, metaText);
  setAttr(panel.meta, "title", metaText);
  const isLost = training.status === "lost";
  show(panel.lost, isLost);
  if (isLost) {
    const ago = training.last_seen ? ` ${formatRelative(training.last_seen, kernelNow)}` : "";
    setText(panel.lost, `lost contact${ago} — the training may have died or be unreachable`);
  }
  show(panel.dismiss, !isLive(training));
  show(panel.bar.el, Boolean(c));
  if (c) updateCurrentBar(panel.bar, training, kernelNow);
  panel.stop.update(training, view);
  panel.steering.update(training, view);
  reconcile(panel.metrics, panel.chips, keyMetrics(training), (m) => m.name, createMetricChip, updateMetricChip);
}

/**
 * Which trainings get a panel: every running or lost one, and the newest training if this
 * viewer saw it live (so it stays put when it ends, like a finished progress bar) until hidden.
 */
function panelTrainings(trainings, ui) {
  for (const t of trainings) if (isLive(t)) ui.seenLive.add(t.training_id);
  const newest = trainings[0];
  return trainings.filter(
    (t) => isLive(t) || (t === newest && ui.seenLive.has(t.training_id) && !ui.dismissed.has(t.training_id)),
  );
}

export function createSummary(ctx) {
  const el = h("div", { class: "dltrack-live-list dltrack-summary", testid: "live" });
  const panels = new Map();
  function update(view) {
    const shown = panelTrainings(view.snap.trainings, ctx.ui);
    show(el, shown.length > 0);
    reconcile(el, panels, shown, (t) => t.training_id, (t) => createPanel(ctx, t), (panel, t) =>
      updatePanel(panel, t, view),
    );
  }
  return { el, update };
}
