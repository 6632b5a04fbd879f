// What a rule with action `notify` says reaches the viewer: a banner on top of the monitor, one
// line per firing until dismissed, and a browser notification (notify.js) when the user
// allowed them with "Notify me". The rule fired in the training (docs/control.md, Rules); here
// it is an event of kind "rule" whose rule's action is notify (events.js).
import { button, h, reconcile, setText } from "./dom.js";
import { eventsOf, isNotification } from "./events.js";
import { notificationsAllowed, permissionButton, showNotification } from "./notify.js";
import { isLive, trainingLabel } from "./state.js";

/**
 * The firings to show: of the trainings that are live or that this viewer saw live (an old
 * finished training's notes are history, in its events), minus the dismissed ones.
 * Newest last: [{id, training, event}].
 */
export function pendingNotes(trainings, seenLive, dismissed) {
  const notes = [];
  for (const t of trainings) {
    if (!isLive(t) && !seenLive.has(t.training_id)) continue;
    for (const event of eventsOf(t)) {
      if (isNotification(event) && !dismissed.has(event.id)) notes.push({ id: String(event.id), training: t, event });
    }
  }
  return notes.sort((a, b) => (a.event.at ?? 0) - (b.event.at ?? 0));
}

/** The words of one note: "Training #3: below-loss: when loss <= 2 → notify: loss = 0.41". */
export const noteText = (note) => `Training ${trainingLabel(note.training)}: ${note.event.detail || note.event.values?.id || "rule fired"}`;

export function createNotes(ctx) {
  const { ui, signal } = ctx;
  const dismissed = new Set();
  // Events already there when this view first heard of the model: shown, never re-notified
  // (a page reload must not ring again for old news).
  /** @type {Set<string> | null} */
  let heard = null;
  let offer = false;
  const allow = button({ class: "dltrack-btn dltrack-btn-quiet", testid: "notify-permission", text: "🔔 Notify me", title: "Also show rule notifications as browser notifications" }, () => {}, signal);
  const refreshAllow = permissionButton(allow, () => offer, signal);
  const list = h("div", { class: "dltrack-notes-list" });
  const el = h("div", { class: "dltrack-notes", testid: "notes" }, [list, allow]);
  const entries = new Map();

  const createNote = () => {
    const text = h("span", { class: "dltrack-note-text" });
    const close = button({ class: "dltrack-btn dltrack-btn-quiet", testid: "note-dismiss", text: "×", "aria-label": "Dismiss" }, () => {
      dismissed.add(entry.id);
      ctx.refresh();
    }, signal);
    const entry = { id: "", text, el: h("div", { class: "dltrack-note", testid: "notify-banner", role: "alert" }, [h("span", { text: "🔔", "aria-hidden": "true" }), text, close]) };
    return entry;
  };

  function update(view) {
    const { trainings } = view.snap;
    const notes = pendingNotes(trainings, ui.seenLive, dismissed);
    if (view.snap.model) {
      const ids = trainings.flatMap((t) => eventsOf(t).filter(isNotification).map((e) => String(e.id)));
      if (heard === null) heard = new Set(ids);
      for (const note of notes) {
        if (heard.has(note.id)) continue;
        heard.add(note.id);
        if (notificationsAllowed()) showNotification(`${view.snap.model.name ?? "dltrack"} #${note.training.number ?? "?"}`, note.event.detail ?? "", `dltrack-${note.id}`);
      }
    }
    reconcile(list, entries, notes, (n) => n.id, createNote, (entry, note) => {
      entry.id = note.id;
      setText(entry.text, noteText(note));
    });
    // Offered once it can matter: a live training holds a notify rule, or a note shows.
    offer = notes.length > 0 || trainings.some((t) => isLive(t) && (t.rules ?? []).some((r) => r?.action === "notify"));
    refreshAllow();
    el.hidden = notes.length === 0 && allow.hidden;
  }
  return { el, update };
}
