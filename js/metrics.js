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

