// Where a stop stands, from the commands in the snapshot and this viewer's own click;
// how a training ended, in words. Pure: callers pass the clock.
import { isFiniteNumber } from "./guards.js";
import { isLive } from "./state.js";

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

/** The command kinds that are stops; the control bar's others have their own status line. */
const STOP_KINDS = new Set(["stop", "stop_after_epoch", "save_and_stop"]);

/**
 * The latest command aimed at this training (by id, or at all trainings of the key, sent after
 * it started), leaving out the ids in `ignore`; null when none.
 * @param {import("./types.js").Training} training
 * @param {import("./types.js").Command[]} commands
 * @param {string[]} [ignore]
 */
export function latestCommand(training, commands, ignore = []) {
  /** @type {import("./types.js").Command | null} */
  let best = null;
  for (const c of commands) {
    if (!STOP_KINDS.has(c.kind)) continue;
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
  if (command.kind === "save_and_stop") return "acknowledged — saving, then stopping after the current batch";
  if (command.kind !== "stop_after_epoch") return "acknowledged — stopping after the current batch";
  const epoch = training.current?.epoch;
  return isFiniteNumber(epoch)
    ? `acknowledged — stopping after epoch ${epoch + 1}`
    : "acknowledged — stopping after this epoch";
}

/**
 * Where the stop of one training stands, for its button and status line.
 *
 * `request` is this viewer's own click ({afterEpoch, save, atMs, knownIds}) or null; from the click on,
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
    const text = `refused: ${command?.detail || "no reason given"}`;
    return { phase: "refused", text, hint: "", canStop: true };
  }
  if (state === "undelivered") {
    return { phase: "undelivered", text: "no training of this key is running", hint: "", canStop: true };
  }
  if (request) {
    const text = request.afterEpoch ? "stop requested… (after this epoch)" : request.save ? "stop requested… (saving first)" : "stop requested…";
    const late = localNowMs - request.atMs >= hintAfterMs;
    return { phase: "requested", text, hint: late ? NO_ANSWER_HINT : "", canStop: false };
  }
  if (command || training.stop) {
    const by = training.stop?.sender ? ` by ${training.stop.sender}` : "";
    return { phase: "requested", text: `stop requested${by}…`, hint: "", canStop: false };
  }
  return { phase: "idle", text: "", hint: "", canStop: true };
}
