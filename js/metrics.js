// Metric names: display order (loss first, each val_ twin after its metric), chart groups,
// the headline metric and the logs that sum a training up. Pure.

/**
 * Metric names in display order: `loss` first, then the others as they first appear, each
 * followed by its `val_` twin; `val_` metrics without a training twin come last.
 */
/** @param {string[]} names @returns {string[]} */
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
/** @param {import("./types.js").Training[]} trainings */
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

/**
 * The logs summing a training up: its final logs, else its last finished epoch's.
 * @param {import("./types.js").Training} training
 * @returns {import("./types.js").Logs}
 */
export function summaryLogs(training) {
  if (Object.keys(training.final_logs).length > 0) return training.final_logs;
  return training.epochs.at(-1)?.logs ?? {};
}


const NOT_KEY = new Set(["learning_rate", "lr"]);
// Keras' losses and error metrics: names that say lower is better.
const LOWER_IS_BETTER = /loss|error|mse|mae|mape|msle|hinge|crossentropy|perplexity|divergence/i;

/** @param {string} name */
export const lowerIsBetter = (name) => LOWER_IS_BETTER.test(name);

/**
 * The best epoch of `name`: the lowest for losses and errors, else the highest; the earliest
 * on ties. Null when no epoch logged it.
 * @param {import("./types.js").Epoch[]} epochs
 * @param {string} name
 * @returns {{epoch: number, value: number} | null}
 */
export function bestEpoch(epochs, name) {
  const lower = lowerIsBetter(name);
  /** @type {{epoch: number, value: number} | null} */
  let best = null;
  for (const e of epochs) {
    const value = e.logs?.[name];
    if (typeof value !== "number" || !Number.isFinite(value)) continue;
    if (best === null || (lower ? value < best.value : value > best.value)) best = { epoch: e.epoch, value };
  }
  return best;
}

/**
 * The summary's key metrics of a training: every logged metric but the learning rate, in
 * display order, with its last finished epoch's value and its best epoch.
 * @param {import("./types.js").Training} training
 */
export function keyMetrics(training) {
  const last = training.epochs.at(-1)?.logs ?? {};
  return orderMetrics(Object.keys(last))
    .filter((name) => !NOT_KEY.has(name))
    .map((name) => ({ name, value: last[name], best: bestEpoch(training.epochs, name) }));
}
