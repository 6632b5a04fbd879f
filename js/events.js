// A training's events (docs/widget-state.md, Event) in words and on the charts' x axes, and
// which of them are notifications. Pure: no DOM, no clock. Event fields come from the kernel
// and, for the sender and detail, from other people: they are only ever shown as text.
import { isFiniteNumber, isObject } from "./guards.js";
import { plannedSteps } from "./steps.js";

/** The training's events, well formed, oldest first. */
export function eventsOf(training) {
  return Array.isArray(training?.events) ? training.events.filter(isObject) : [];
}

/** One line per event: "epoch 3 · set_lr · learning rate 0.01 → 0.005 · by ana@laptop". */
export function eventLine(event) {
  const where = isFiniteNumber(event.epoch) ? `epoch ${event.epoch + 1}` : null;
  // A non-finite epoch's detail says it all ("loss NaN"); a failed command says FAILED.
  const what = event.kind === NON_FINITE ? null : event.ok === false ? `${event.kind} FAILED` : event.kind;
  const parts = [where, what, event.detail];
  if (event.sender) parts.push(`by ${event.sender}`);
  return parts.filter(Boolean).join(" · ");
}

/** The global step at the start of 0-based `epoch`: the steps done in the epochs before it. */
function stepsBefore(training, epoch) {
  const planned = plannedSteps(training);
  let total = 0;
  for (let e = 0; e < epoch; e++) {
    const record = training.epochs.find((r) => r.epoch === e);
    const steps = Number.isInteger(record?.steps) ? record.steps : planned;
    if (steps === null) return null;
    total += steps;
  }
  return total;
}

/**
 * Where an event sits on `axis` (as series.js places epochs: epoch E's end at E + 1, global
 * steps, seconds since the start), or null when it cannot be placed. Within an epoch it goes
 * by its step, so a command carried out mid-epoch sits mid-epoch.
 */
export function eventX(training, event, axis) {
  if (axis === "time") {
    return isFiniteNumber(event.at) && isFiniteNumber(training.started_at) ? event.at - training.started_at : null;
  }
  if (!Number.isInteger(event.epoch) || event.epoch < 0) return null;
  const step = Number.isInteger(event.step) && event.step >= 0 ? event.step : null;
  if (axis === "step") {
    const before = stepsBefore(training, event.epoch);
    return before === null || step === null ? null : before + step;
  }
  const planned = plannedSteps(training);
  // Unknown steps: the epoch's end, where its record (and every rule's judgement) is.
  const fraction = step !== null && planned ? Math.min(1, step / planned) : 1;
  return event.epoch + fraction;
}

/**
 * The markers of the trainings' events on `axis`: one per training and x, naming every event
 * there ({key, trainingId, x, kinds, ok, label}); events that cannot be placed are left out.
 */
export function eventMarks(trainings, axis) {
  const marks = new Map();
  for (const t of trainings) {
    for (const event of [...eventsOf(t), ...nonFiniteEvents(t)]) {
      const x = eventX(t, event, axis);
      if (x === null) continue;
      const key = `${t.training_id}@${x}`;
      let mark = marks.get(key);
      if (!mark) {
        mark = { key, trainingId: t.training_id, x, kinds: [], ok: true, lines: [] };
        marks.set(key, mark);
      }
      mark.kinds.push(event.kind);
      mark.ok = mark.ok && event.ok !== false;
      mark.lines.push(eventLine(event));
    }
  }
  return [...marks.values()].map(({ lines, ...mark }) => ({ ...mark, label: lines.join("\n") }));
}

/** The kind of the events `nonFiniteEvents` makes (not one the training sends). */
export const NON_FINITE = "non-finite";
const MARKER_TEXT = { nan: "NaN", inf: "∞", "-inf": "−∞" };

/**
 * An epoch whose metrics went NaN or infinite, as a failed event at its end: the charts leave
 * such values out, so without a mark the curve would look as if it ended well.
 */
export function nonFiniteEvents(training) {
  const events = [];
  for (const record of training?.epochs ?? []) {
    if (!isObject(record.non_finite) || !Number.isInteger(record.epoch)) continue;
    const metrics = Object.entries(record.non_finite).filter(([, m]) => Object.hasOwn(MARKER_TEXT, m));
    if (metrics.length === 0) continue;
    const detail = metrics.map(([name, m]) => `${name} ${MARKER_TEXT[m]}`).join(", ");
    events.push({ kind: NON_FINITE, epoch: record.epoch, ok: false, detail, at: record.ended_at });
  }
  return events;
}

/** Whether an event is a rule with action notify firing (not its "metric not seen yet"). */
export function isNotification(event) {
  return event.kind === "rule" && event.ok !== false && event.values?.action === "notify";
}
