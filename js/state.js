// The `state` snapshot (docs/widget-state.md) as the front end uses it: normalised, sorted,
// with the identity of a training (its label, whether it is live). Pure: no DOM, no clock.
import { isCount, isFiniteNumber, isObject } from "./guards.js";

const STATUSES = ["running", "completed", "stopped", "failed", "interrupted", "lost"];
const LIVE = new Set(["running", "lost"]);

// A training's number is assigned by the store shortly after it starts; until then it is the
// newest of all, so it sorts first.
const sortKey = (t) => (isCount(t.number) ? t.number : Infinity);
const newestFirst = (a, b) => sortKey(b) - sortKey(a) || (b.started_at ?? 0) - (a.started_at ?? 0);

/**
 * "#3", or "#?" while the store has not numbered the training yet.
 * @param {{number?: number | null} | null | undefined} training
 */
export const trainingLabel = (training) => `#${isCount(training?.number) ? training.number : "?"}`;

/** @param {{status?: string} | null | undefined} training */
export const isLive = (training) => LIVE.has(training?.status ?? "");

// Normalised epoch lists by the trait's own array: the `history` trait stays the same object
// between `state` updates, so its 1000s of epochs are checked once, not at every redraw.
const epochCache = new WeakMap();

const NON_FINITE = { nan: Number.NaN, inf: Number.POSITIVE_INFINITY, "-inf": Number.NEGATIVE_INFINITY };

/** An epoch with its NaN/±inf metrics (carried as markers in `non_finite`, since JSON has no
 * NaN) put back into `logs` as numbers: tables then print "NaN"/"∞", charts leave a gap. */
function withNonFinite(epoch) {
  const markers = isObject(epoch.non_finite) ? Object.entries(epoch.non_finite) : [];
  const known = markers.filter(([, marker]) => Object.hasOwn(NON_FINITE, marker));
  if (known.length === 0) return epoch;
  const logs = { ...(isObject(epoch.logs) ? epoch.logs : {}) };
  for (const [name, marker] of known) logs[name] = NON_FINITE[marker];
  return { ...epoch, logs };
}

function normalizeEpochs(raw) {
  if (!Array.isArray(raw)) return [];
  const cached = epochCache.get(raw);
  if (cached) return cached;
  const epochs = raw.filter(isObject).map(withNonFinite);
  for (let i = 1; i < epochs.length; i++) {
    if (epochs[i].epoch < epochs[i - 1].epoch) {
      epochs.sort((a, b) => a.epoch - b.epoch);
      break;
    }
  }
  epochCache.set(raw, epochs);
  return epochs;
}

function normalizeTraining(t, history) {
  // Finished trainings' epochs travel in the `history` trait; `state` then holds null.
  const rawEpochs = Array.isArray(t.epochs) ? t.epochs : history[String(t.training_id)];
  const epochs = normalizeEpochs(rawEpochs);
  return {
    ...t,
    training_id: String(t.training_id ?? ""),
    status: STATUSES.includes(t.status) ? t.status : "lost",
    params: isObject(t.params) ? t.params : {},
    final_logs: isObject(t.final_logs) ? t.final_logs : {},
    epochs,
    current: isObject(t.current) ? t.current : null,
    stop: isObject(t.stop) ? t.stop : null,
  };
}

/**
 * The traits as one well-formed snapshot: accepts `state` as an object or its JSON text, takes
 * finished trainings' epochs from `history` ({training_id: epochs}), fills defaults, drops what
 * is not an object, sorts trainings newest first. Never throws.
 * @param {unknown} raw
 * @param {unknown} [rawHistory]
 * @returns {import("./types.js").Snapshot}
 */
export function normalizeSnapshot(raw, rawHistory = null) {
  let value = raw;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return { ...normalizeSnapshot(null), error: "The widget received a malformed state." };
    }
  }
  const s = isObject(value) ? value : {};
  const history = isObject(rawHistory) ? rawHistory : {};
  const connection = isObject(s.connection) ? s.connection : {};
  return {
    // Shapes inside are the kernel's (docs/widget-state.md); only their containers are checked.
    model: isObject(s.model) ? /** @type {any} */ (s.model) : null,
    connection: {
      status: String(connection.status ?? "connecting"),
      detail: String(connection.detail ?? ""),
      broker: String(connection.broker ?? ""),
      store: String(connection.store ?? ""),
      store_status: String(connection.store_status ?? "connecting"),
      store_detail: String(connection.store_detail ?? ""),
    },
    error: s.error ? String(s.error) : null,
    now: isFiniteNumber(s.now) ? s.now : null,
    trainings: (Array.isArray(s.trainings) ? s.trainings : [])
      .filter(isObject)
      .map((t) => normalizeTraining(t, history))
      .sort(newestFirst),
    commands: /** @type {any[]} */ ((Array.isArray(s.commands) ? s.commands : []).filter(isObject)),
  };
}

/**
 * The kernel's clock now, in unix seconds: the snapshot's `now` plus the local time since it
 * arrived, so clocks tick between snapshots and machines' clock skew does not matter.
 */
export function kernelClock(snapshotNow, receivedAtMs, nowMs) {
  const base = isFiniteNumber(snapshotNow) ? snapshotNow : Date.now() / 1000;
  return base + Math.max(0, nowMs - receivedAtMs) / 1000;
}

/**
 * "The running one": the newest running training, else the newest lost one, else null.
 * @param {import("./types.js").Training[]} trainings
 */
export function theRunningOne(trainings) {
  return trainings.find((t) => t.status === "running") ?? trainings.find(isLive) ?? null;
}

