// dltrack's TrainingMonitor front end, an anywidget module: `export default { render }`.
// It reads the `state`, `history`, `stop_route` and `can_control` traits (docs/widget-state.md),
// keeps the viewer's choices in `ui_state`, redraws at most once per animation frame, reuses DOM
// nodes between redraws, and talks back to the kernel with `model.send`. Without control (a
// read-only share, `can_control` false) it shows no stop, rename or delete controls.
//
// Layout (docs/front-end.md): header; the banner of rule notifications; a summary of the live trainings that does not grow with
// the epochs; tabs (Epochs, Charts, Trainings, Parameters) that scroll inside the widget,
// whose height is capped (600 px unless the viewer drags the handle).
import { comparedTrainings, createDetails } from "./details.js";
import { h, show } from "./dom.js";
import { createEpochsTab } from "./epochs.js";
import { createHeader } from "./header.js";
import { createNotes } from "./notes.js";
import { createResizeHandle } from "./resize.js";
import { isLive, kernelClock, normalizeSnapshot, theRunningOne } from "./state.js";
import { hasPendingStop } from "./stop.js";
import { hintDelay } from "./stopview.js";
import { createSummary } from "./summary.js";
import { createTabs } from "./tabs.js";
import { createTrainingsTable } from "./trainings.js";
import { parseUiState, uiStateOf } from "./uistate.js";

/** The synced traits the monitor reads; a change of any of them redraws. */
const TRAITS = ["state", "history", "stop_route", "can_control"];
const UI_TRAIT = "ui_state";

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

/**
 * The viewer's UI state. The choices worth keeping (tab, selection, comparison, chart axis,
 * height) are also written to the `ui_state` trait; the rest is lost on re-render.
 */
function initialUi(saved) {
  return {
    tab: saved.tab,
    defaultTab: "trainings",
    axis: saved.axis,
    smoothing: saved.smoothing,
    log: saved.log,
    goals: saved.goals,
    height: saved.height,
    selectedId: saved.selected, // null follows the running training, else the newest
    compare: new Set(saved.compare),
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
  const ui = initialUi(parseUiState(model.get(UI_TRAIT)));
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
    // The charts' choices (axis, smoothing, log, goals), kept in `ui_state` with the others;
    // `save: false` while a slider is dragged (the kernel is told when it is let go).
    prefs: {
      get: (name) => ui[name] ?? null,
      set: (name, value, save = true) => {
        ui[name] = value;
        if (save) saveUi();
      },
    },
    // Set by the `dltrack serve` page only: no control is built, and its server refuses them.
    readOnly: model.get("read_only") === true,
    refresh,
    redrawAfter,
    saveUi,
    exportTrainings,
  };
  const header = createHeader(ctx);
  const summary = createSummary(ctx);
  const notes = createNotes(ctx);
  const table = createTrainingsTable(ctx);
  const details = createDetails(ctx);
  const epochs = createEpochsTab(ctx);
  const tabs = createTabs(
    ctx,
    [
      { id: "epochs", label: "Epochs", el: epochs.el },
      { id: "charts", label: "Charts", el: details.chartsTab },
      { id: "trainings", label: "Trainings", el: table.el },
      { id: "params", label: "Parameters", el: details.paramsTab },
    ],
    [details.caption],
  );
  const body = h("div", { class: "dltrack-body" }, [notes.el, summary.el, tabs.bar, details.confirm, details.compareBar, tabs.body]);
  const root = h("div", { class: "dltrack-monitor", testid: "monitor" }, [header.el, header.error, body]);
  const resize = createResizeHandle(ctx, root);
  root.append(resize.el);
  el.append(root);

  function draw() {
    frame = null;
    const localNow = env.now();
    const view = { snap: snapshot, localNow, kernelNow: kernelClock(snapshot.now, receivedAt, localNow) };
    header.update(view);
    resize.update();
    show(body, !snapshot.error);
    if (snapshot.error) return;
    const selected = selectedTraining(snapshot.trainings, ui);
    summary.update(view);
    notes.update(view); // after the summary: it reads which trainings this viewer saw live
    // Until the viewer picks a tab: Epochs once a training runs (and still when it ends, so the
    // bars the viewer watched do not vanish), else Trainings.
    if (snapshot.trainings.some(isLive)) ui.defaultTab = "epochs";
    tabs.update(ui.defaultTab);
    table.update(view, selected?.training_id ?? null);
    details.update(view, selected);
    epochs.update(view, selected);
  }

  /** The trainings an export holds: the compared ones while comparing, else all of them. */
  function exportTrainings() {
    const selected = selectedTraining(snapshot.trainings, ui);
    const compared = comparedTrainings(snapshot.trainings, selected, ui.compare);
    return compared.length > 1 ? compared : snapshot.trainings;
  }

  /** Write the choices worth keeping to `ui_state` (skipped when nothing changed). */
  function saveUi() {
    const next = uiStateOf(ui);
    if (JSON.stringify(next) === JSON.stringify(model.get(UI_TRAIT) ?? null)) return;
    model.set(UI_TRAIT, next);
    model.save_changes();
  }

  /** Another view of this output (or a restore) changed the choices: follow them. */
  const onUiState = () => {
    const saved = parseUiState(model.get(UI_TRAIT));
    ui.tab = saved.tab;
    ui.axis = saved.axis;
    ui.smoothing = saved.smoothing;
    ui.log = saved.log;
    ui.goals = saved.goals;
    ui.height = saved.height;
    ui.selectedId = saved.selected;
    ui.compare = new Set(saved.compare);
    schedule();
  };

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
    // Only an explicit false hides the controls: an older kernel side has no such trait.
    root.classList.toggle("dltrack-read-only", model.get("can_control") === false);
    // Elapsed clocks run from the last *new* snapshot, not from a history-only change.
    if (snapshot.now !== previous || snapshot.now === null) receivedAt = env.now();
    // A training deleted elsewhere leaves nothing to confirm or compare.
    const ids = new Set(snapshot.trainings.map((t) => t.training_id));
    // (Only once the model is known: while connecting, no trainings does not mean none.)
    if (snapshot.model) for (const set of [ui.compare, ui.deleting]) for (const id of set) if (!ids.has(id)) set.delete(id);
    if (ui.deleteConfirm !== null && !ids.has(ui.deleteConfirm)) ui.deleteConfirm = null;
    if (!snapshot.model) ui.deleteModelSent = false;
  }

  const onState = () => {
    readState();
    schedule();
  };
  for (const name of TRAITS) model.on(`change:${name}`, onState);
  model.on(`change:${UI_TRAIT}`, onUiState);
  const ticker = env.setInterval(() => {
    ticks += 1;
    if (snapshot.trainings.some(isLive) || hasPendingStop(ui) || ticks % IDLE_TICKS === 0) schedule();
  }, TICK_MS);

  readState();
  draw();

  return () => {
    for (const name of TRAITS) model.off(`change:${name}`, onState);
    model.off(`change:${UI_TRAIT}`, onUiState);
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
