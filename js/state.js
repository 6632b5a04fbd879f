// Derivations from the `state` snapshot (see docs/widget-state.md). Pure: no DOM, no clock.

export const STATUSES = ["running", "completed", "stopped", "failed", "interrupted", "lost"];
const LIVE = new Set(["running", "lost"]);

/** How long a stop may go unanswered before the user is told how else to stop. */
export const ANSWER_TIMEOUT_MS = 2000;

/**
 * When to show that hint, from the `stop_route` trait: "subshell" means the kernel handles the
 * click even while a cell runs; "interrupt" means the click waits for the running cell, so
 * the ■ advice is useful at once.
 */
export const hintDelay = (stopRoute) => (stopRoute === "interrupt" ? 0 : ANSWER_TIMEOUT_MS);

export const NO_ANSWER_HINT =
  "No answer from the training yet. If it runs in this notebook's kernel, press ■ (Interrupt) — " +
  "dltrack turns it into a graceful stop.";

const isObject = (x) => x !== null && typeof x === "object" && !Array.isArray(x);
const isFiniteNumber = (x) => typeof x === "number" && Number.isFinite(x);
const isCount = (x) => Number.isInteger(x) && x > 0;
// A training's number is assigned by the store shortly after it starts; until then it is the
// newest of all, so it sorts first.
const sortKey = (t) => (isCount(t.number) ? t.number : Infinity);
const newestFirst = (a, b) => sortKey(b) - sortKey(a) || (b.started_at ?? 0) - (a.started_at ?? 0);

/** "#3", or "#?" while the store has not numbered the training yet. */
export const trainingLabel = (training) => `#${isCount(training?.number) ? training.number : "?"}`;

export const isLive = (training) => LIVE.has(training?.status);

// Normalised epoch lists by the trait's own array: the `history` trait stays the same object
// between `state` updates, so its 1000s of epochs are checked once, not at every redraw.
const epochCache = new WeakMap();

function normalizeEpochs(raw) {
  if (!Array.isArray(raw)) return [];
  const cached = epochCache.get(raw);
  if (cached) return cached;
  const epochs = raw.filter(isObject);
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
    batch_losses: Array.isArray(t.batch_losses) ? t.batch_losses : [],
  };
}

/**
 * The traits as one well-formed snapshot: accepts `state` as an object or its JSON text, takes
 * finished trainings' epochs from `history` ({training_id: epochs}), fills defaults, drops what
 * is not an object, sorts trainings newest first. Never throws.
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
    model: isObject(s.model) ? s.model : null,
    connection: {
      status: String(connection.status ?? "connecting"),
      detail: String(connection.detail ?? ""),
      broker: String(connection.broker ?? ""),
      store: String(connection.store ?? ""),
    },
    error: s.error ? String(s.error) : null,
    now: isFiniteNumber(s.now) ? s.now : null,
    trainings: (Array.isArray(s.trainings) ? s.trainings : [])
      .filter(isObject)
      .map((t) => normalizeTraining(t, history))
      .sort(newestFirst),
    commands: (Array.isArray(s.commands) ? s.commands : []).filter(isObject),
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

/** "The running one": the newest running training, else the newest lost one, else null. */
export function theRunningOne(trainings) {
  return trainings.find((t) => t.status === "running") ?? trainings.find(isLive) ?? null;
}

/**
 * Metric names in display order: `loss` first, then the others as they first appear, each
 * followed by its `val_` twin; `val_` metrics without a training twin come last.
 */
export function orderMetrics(names) {
  const unique = [...new Set(names)];
  const present = new Set(unique);
  const bases = unique.filter((n) => !n.startsWith("val_") || !present.has(n.slice(4)));
  const trainFirst = bases.filter((n) => !n.startsWith("val_"));
  const orphans = bases.filter((n) => n.startsWith("val_"));
  trainFirst.sort((a, b) => (a === "loss" ? -1 : b === "loss" ? 1 : 0));
  const ordered = [];
  for (const name of trainFirst) {
    ordered.push(name);
    if (present.has(`val_${name}`)) ordered.push(`val_${name}`);
  }
  return ordered.concat(orphans);
}

/** One chart per metric: {key, train, val}, the val_ twin drawn with its training metric. */
export function metricGroups(names) {
  const present = new Set(names);
  const groups = [];
  for (const name of orderMetrics(names)) {
    if (name.startsWith("val_") && present.has(name.slice(4))) continue;
    const isOrphanVal = name.startsWith("val_");
    groups.push({
      key: name,
      train: isOrphanVal ? null : name,
      val: isOrphanVal ? name : present.has(`val_${name}`) ? `val_${name}` : null,
    });
  }
  return groups;
}

/**
 * Every metric name the trainings logged, in display order. Keras logs the same names every
 * epoch, so the first and last epochs and the final logs are enough (1000s of epochs stay cheap).
 */
export function metricNames(trainings) {
  const names = [];
  for (const t of trainings) {
    for (const e of [t.epochs[0], t.epochs.at(-1)]) names.push(...Object.keys(e?.logs ?? {}));
    names.push(...Object.keys(t.final_logs));
  }
  return orderMetrics(names);
}

const NOT_MAIN = new Set(["loss", "learning_rate", "lr"]);

/** The metric to headline besides loss (e.g. accuracy), or null. */
export function mainMetric(names) {
  return orderMetrics(names).find((n) => !n.startsWith("val_") && !NOT_MAIN.has(n)) ?? null;
}

/** The logs summing a training up: its final logs, else its last finished epoch's. */
export function summaryLogs(training) {
  if (Object.keys(training.final_logs).length > 0) return training.final_logs;
  return training.epochs.at(-1)?.logs ?? {};
}

const STANDARD_PARAMS = ["epochs", "steps", "batch_size", "optimizer", "learning_rate"];

/** Parameter names of all the trainings: the standard ones first, then the rest sorted. */
export function paramNames(trainings) {
  const keys = new Set();
  for (const t of trainings) for (const k of Object.keys(t.params)) keys.add(k);
  const standard = STANDARD_PARAMS.filter((k) => keys.has(k));
  const rest = [...keys].filter((k) => !STANDARD_PARAMS.includes(k)).sort();
  return standard.concat(rest);
}

/** Names of the parameters whose values are not the same in every training (missing counts). */
export function differingParams(trainings) {
  const differ = new Set();
  if (trainings.length < 2) return differ;
  for (const key of paramNames(trainings)) {
    const first = JSON.stringify(trainings[0].params[key]);
    if (trainings.some((t) => JSON.stringify(t.params[key]) !== first)) differ.add(key);
  }
  return differ;
}

/** "stopped at epoch E, step S" with 1-based E; `withSender` adds "by X". */
export function describeStop(stop, withSender = false) {
  const by = withSender && stop?.sender ? ` by ${stop.sender}` : "";
  if (!stop || !isFiniteNumber(stop.epoch)) return `stopped${by}`;
  const at = `stopped${by} at epoch ${stop.epoch + 1}`;
  return isFiniteNumber(stop.step) ? `${at}, step ${stop.step}` : at;
}

/** What the history table says about how a training ended (or is being stopped). */
export function endNote(training) {
  if (training.status === "stopped") return describeStop(training.stop, true);
  if (training.reason) return training.reason;
  if (training.stop && isLive(training)) {
    return training.stop.sender ? `stop requested by ${training.stop.sender}` : "stop requested";
  }
  return "";
}

/**
 * The latest command aimed at this training (by id, or at all trainings of the key, sent after
 * it started), leaving out the ids in `ignore`; null when none.
 */
export function latestCommand(training, commands, ignore = []) {
  let best = null;
  for (const c of commands) {
    if (c.target !== training.training_id && c.target !== "all") continue;
    if (ignore.includes(c.id)) continue;
    const sentAt = isFiniteNumber(c.sent_at) ? c.sent_at : 0;
    if (c.target === "all" && sentAt < (training.started_at ?? 0)) continue;
    if (best === null || sentAt >= (best.sent_at ?? 0)) best = c;
  }
  return best;
}

/** Ids of the commands already aimed at this training: a new click follows only newer ones. */
export function knownCommandIds(training, commands) {
  return commands
    .filter((c) => c.target === training.training_id || c.target === "all")
    .map((c) => c.id);
}

function acknowledgedText(command, training) {
  if (command.kind !== "stop_after_epoch") return "acknowledged — stopping after the current batch";
  const epoch = training.current?.epoch;
  return isFiniteNumber(epoch)
    ? `acknowledged — stopping after epoch ${epoch + 1}`
    : "acknowledged — stopping after this epoch";
}

/**
 * Where the stop of one training stands, for its button and status line.
 *
 * `request` is this viewer's own click ({afterEpoch, atMs, knownIds}) or null; from the click on,
 * only commands newer than it (from any viewer) are followed. Without an answer after
 * `hintAfterMs`, the hint says how else to stop. Returns {phase, text, hint, canStop}:
 * phase is one of idle | requested | acknowledged | refused | undelivered | stopped | ended.
 */
export function stopView({ training, commands, request, localNowMs, hintAfterMs = ANSWER_TIMEOUT_MS }) {
  const command = latestCommand(training, commands, request?.knownIds ?? []);
  if (training.status === "stopped") {
    return { phase: "stopped", text: describeStop(training.stop), hint: "", canStop: false };
  }
  if (!isLive(training)) {
    const text = request || command ? `training ${training.status} before the stop took effect` : "";
    return { phase: "ended", text, hint: "", canStop: false };
  }
  const state = command?.state;
  if (state === "acknowledged") {
    return { phase: "acknowledged", text: acknowledgedText(command, training), hint: "", canStop: false };
  }
  if (state === "refused") {
    const text = `refused: ${command.detail || "no reason given"}`;
    return { phase: "refused", text, hint: "", canStop: true };
  }
  if (state === "undelivered") {
    return { phase: "undelivered", text: "no training of this key is running", hint: "", canStop: true };
  }
  if (request) {
    const text = request.afterEpoch ? "stop requested… (after this epoch)" : "stop requested…";
    const late = localNowMs - request.atMs >= hintAfterMs;
    return { phase: "requested", text, hint: late ? NO_ANSWER_HINT : "", canStop: false };
  }
  if (command || training.stop) {
    const by = training.stop?.sender ? ` by ${training.stop.sender}` : "";
    return { phase: "requested", text: `stop requested${by}…`, hint: "", canStop: false };
  }
  return { phase: "idle", text: "", hint: "", canStop: true };
}
