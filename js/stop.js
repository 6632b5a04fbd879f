// The Stop button of one training: it opens an inline menu (Stop now, Stop after this epoch,
// Save and stop, Cancel; arrow keys move between them, Escape cancels), then shows an
// optimistic "stop requested…", the command's fate from `state.commands`, and how the
// training ended.
import { button, h, inlineConfirm, listen, setAttr, setText, show } from "./dom.js";
import { isLive, trainingLabel } from "./state.js";
import { knownCommandIds, stopView } from "./stopview.js";

/** This viewer's stop UI state for a training, created on first use. */
function stopEntry(ui, trainingId) {
  let entry = ui.stops.get(trainingId);
  if (!entry) {
    entry = { confirming: false, request: null };
    ui.stops.set(trainingId, entry);
  }
  return entry;
}

export function createStopControl(ctx, trainingId) {
  const { ui, signal } = ctx;
  let training = null;

  /** @param {"now" | "epoch" | "save"} how */
  const request = (how) => {
    const entry = stopEntry(ui, trainingId);
    entry.confirming = false;
    entry.request = {
      afterEpoch: how === "epoch",
      save: how === "save",
      atMs: ctx.now(),
      knownIds: training ? knownCommandIds(training, ctx.snapshot().commands) : [],
    };
    // The messages docs/widget-state.md lists: save and after_epoch never together.
    const message = how === "save" ? { save: true } : { after_epoch: how === "epoch" };
    ctx.send({ action: "stop", training_id: trainingId, ...message });
    ctx.refresh();
    ctx.redrawAfter(ctx.hintAfterMs());
  };
  const setConfirming = (confirming) => {
    stopEntry(ui, trainingId).confirming = confirming;
    ctx.refresh();
  };

  const stopButton = button(
    { class: "dltrack-btn dltrack-btn-stop", testid: "stop-button", text: "■ Stop ▾", "aria-haspopup": "true" },
    () => {
      setConfirming(true);
      confirm.focusFirst();
    },
    signal,
  );
  const confirm = inlineConfirm({
    testid: "stop-confirm",
    signal,
    actions: [
      { label: "Stop now", testid: "stop-now", class: "dltrack-btn-danger", onClick: () => request("now") },
      { label: "Stop after this epoch", testid: "stop-after-epoch", onClick: () => request("epoch") },
      { label: "Save and stop", testid: "stop-save", title: "Save a checkpoint (.keras) where it trains, then stop", onClick: () => request("save") },
      { label: "Cancel", testid: "stop-cancel", onClick: () => setConfirming(false) },
    ],
  });
  listen(confirm.el, "keydown", (event) => {
    if (event.key === "Escape") {
      setConfirming(false);
      stopButton.focus();
    } else if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      confirm.focusNext(event.key === "ArrowRight" ? 1 : -1);
      event.preventDefault();
    }
  }, signal);

  const statusText = h("span", { class: "dltrack-stop-text" });
  const hint = h("span", { class: "dltrack-stop-hint", hidden: true });
  const status = h(
    "div",
    { class: "dltrack-stop-status", testid: "stop-status", role: "status", "aria-live": "polite", hidden: true },
    [statusText, hint],
  );
  // Read-only viewers (`dltrack serve` without --allow-control) get the status, not the button.
  const controls = ctx.readOnly ? [] : [stopButton, confirm.el];
  const el = h("div", { class: "dltrack-stop" }, [...controls, status]);

  function update(current, view) {
    training = current;
    const entry = ui.stops.get(trainingId) ?? { confirming: false, request: null };
    const sv = stopView({
      training: current,
      commands: view.snap.commands,
      request: entry.request,
      localNowMs: view.localNow,
      hintAfterMs: ctx.hintAfterMs(),
    });
    const live = isLive(current);
    const confirming = entry.confirming && live && sv.canStop;
    setAttr(stopButton, "title", `Stop training ${trainingLabel(current)}`);
    show(stopButton, live && sv.canStop && !confirming);
    confirm.set(confirming, `Stop training ${trainingLabel(current)}?`);
    show(status, Boolean(sv.text));
    setAttr(status, "data-phase", sv.phase);
    setText(statusText, sv.text);
    show(hint, Boolean(sv.hint));
    setText(hint, sv.hint);
  }

  return { el, update };
}

/** Whether some stop of this viewer is still waiting for an answer (the clock must tick). */
export function hasPendingStop(ui) {
  for (const entry of ui.stops.values()) if (entry.request) return true;
  return false;
}
