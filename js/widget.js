// dltrack's TrainingMonitor front end, an anywidget module: `export default { render }`.
// It reads the `state`, `history` and `stop_route` traits (docs/widget-state.md), redraws at
// most once per animation frame, reuses DOM nodes between redraws, and talks back to the
// kernel with `model.send`.
import { createLiveSection } from "./bars.js";
import { createDetails } from "./details.js";
import { h, show } from "./dom.js";
import { createHeader } from "./header.js";
import { isLive, kernelClock, normalizeSnapshot, theRunningOne } from "./state.js";
import { hintDelay } from "./stopview.js";
import { hasPendingStop } from "./stop.js";
import { createTrainingsTable } from "./trainings.js";

/** The synced traits the monitor reads; a change of any of them redraws. */
const TRAITS = ["state", "history", "stop_route"];

/** Clock ticks between snapshots: elapsed times, "lost contact Ns ago", the stop hint. */
const TICK_MS = 1000;
/** With nothing live, relative times ("3m ago") still move, just rarely. */
const IDLE_TICKS = 30;

function browserEnv() {
  const raf = globalThis.requestAnimationFrame?.bind(globalThis);
  const caf = globalThis.cancelAnimationFrame?.bind(globalThis);
  return {
    now: () => globalThis.performance?.now?.() ?? Date.now(),
    // Hosts without animation frames (rare) still get coalesced redraws.
    raf: raf ?? ((fn) => setTimeout(fn, 16)),
    caf: caf ?? ((id) => clearTimeout(id)),
    setInterval: (fn, ms) => setInterval(fn, ms),
    clearInterval: (id) => clearInterval(id),
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (id) => clearTimeout(id),
  };
}

/** The per-viewer UI state: never synced, lost when the output is re-rendered. */
function initialUi() {
  return {
    selectedId: null, // null follows the running training, else the newest
    compare: new Set(),
    expandedBars: new Set(),
    showAllEpochs: false,
    stops: new Map(),
    seenLive: new Set(),
    dismissed: new Set(),
    deleting: new Set(),
    deleteConfirm: null,
    deleteModelConfirm: false,
    deleteModelSent: false,
    renaming: false,
  };
}

function selectedTraining(trainings, ui) {
  if (ui.selectedId !== null) {
    const chosen = trainings.find((t) => t.training_id === ui.selectedId);
    if (chosen) return chosen;
  }
  return theRunningOne(trainings) ?? trainings[0] ?? null;
}

/**
 * Mount the monitor for `model` into `el`; returns the cleanup function. `env` swaps the
 * clock and frame scheduling (tests pass a fake one).
 */
export function mount(model, el, env = browserEnv()) {
  const abort = new AbortController();
  const ui = initialUi();
  let snapshot = normalizeSnapshot(null);
  let stopRoute = null;
  let receivedAt = env.now();
  let frame = null;
  let ticks = 0;
  const timers = new Set();

  const ctx = {
    ui,
    signal: abort.signal,
    now: () => env.now(),
    snapshot: () => snapshot,
    hintAfterMs: () => hintDelay(stopRoute),
    send: (message) => model.send(message),
    refresh,
    redrawAfter,
  };
  const header = createHeader(ctx);
  const live = createLiveSection(ctx);
  const table = createTrainingsTable(ctx);
  const details = createDetails(ctx);
  const body = h("div", { class: "dltrack-body" }, [live.el, table.el, details.el]);
  const root = h("div", { class: "dltrack-monitor" }, [header.el, header.error, body]);
  el.append(root);

  function draw() {
    frame = null;
    const localNow = env.now();
    const view = { snap: snapshot, localNow, kernelNow: kernelClock(snapshot.now, receivedAt, localNow) };
    header.update(view);
    show(body, !snapshot.error);
    if (snapshot.error) return;
    const selected = selectedTraining(snapshot.trainings, ui);
    live.update(view);
    table.update(view, selected?.training_id ?? null);
    details.update(view, selected);
  }

  function schedule() {
    if (frame === null) frame = env.raf(draw);
  }

  /** Redraw once `ms` from now, on time (the 1 s ticker is not aligned with the user's clicks). */
  function redrawAfter(ms) {
    const id = env.setTimeout(() => {
      timers.delete(id);
      schedule();
    }, ms);
    timers.add(id);
  }

  /** Redraw now, for the user's own clicks: feedback must not wait for a frame. */
  function refresh() {
    if (frame !== null) env.caf(frame);
    draw();
  }

  function readState() {
    const previous = snapshot.now;
    snapshot = normalizeSnapshot(model.get("state"), model.get("history"));
    stopRoute = model.get("stop_route") ?? null;
    // Elapsed clocks run from the last *new* snapshot, not from a history-only change.
    if (snapshot.now !== previous || snapshot.now === null) receivedAt = env.now();
    // A training deleted elsewhere leaves nothing to confirm or compare.
    const ids = new Set(snapshot.trainings.map((t) => t.training_id));
    for (const set of [ui.compare, ui.deleting]) for (const id of set) if (!ids.has(id)) set.delete(id);
    if (ui.deleteConfirm !== null && !ids.has(ui.deleteConfirm)) ui.deleteConfirm = null;
    if (!snapshot.model) ui.deleteModelSent = false;
  }

  const onState = () => {
    readState();
    schedule();
  };
  for (const name of TRAITS) model.on(`change:${name}`, onState);
  const ticker = env.setInterval(() => {
    ticks += 1;
    if (snapshot.trainings.some(isLive) || hasPendingStop(ui) || ticks % IDLE_TICKS === 0) schedule();
  }, TICK_MS);

  readState();
  draw();

  return () => {
    for (const name of TRAITS) model.off(`change:${name}`, onState);
    if (frame !== null) env.caf(frame);
    frame = null;
    env.clearInterval(ticker);
    for (const id of timers) env.clearTimeout(id);
    timers.clear();
    abort.abort();
    root.remove();
  };
}

export default {
  render({ model, el }) {
    return mount(model, el);
  },
};
