// The parameters table: which rows, in which order, and which differ between trainings. Pure.
// Keras records its own params (epochs, steps, the optimizer's learning_rate…) and users pass
// theirs, often under a short name for the same thing (`lr`); a user's name whose value equals
// the recorded one in every training is folded into that row instead of shown twice.

const STANDARD_PARAMS = ["epochs", "steps", "batch_size", "optimizer", "learning_rate"];

/** Short names users give the params Keras records. */
const ALIASES = {
  learning_rate: ["lr", "learningrate", "learning-rate"],
  batch_size: ["bs", "batch", "batchsize"],
  epochs: ["n_epochs", "num_epochs", "epoch"],
  optimizer: ["opt", "optim"],
};

/** @param {import("./types.js").Training[]} trainings */
function allNames(trainings) {
  const keys = new Set();
  for (const t of trainings) for (const k of Object.keys(t.params)) keys.add(k);
  const standard = STANDARD_PARAMS.filter((k) => keys.has(k));
  const rest = [...keys].filter((k) => !STANDARD_PARAMS.includes(k)).sort();
  return standard.concat(rest);
}

/**
 * The same value: equal JSON, or numbers equal to float32 precision (Keras keeps the learning
 * rate as a float32, so a user's 0.001 comes back as 0.0010000000474974513).
 * @param {unknown} a
 * @param {unknown} b
 */
export function sameValue(a, b) {
  if (typeof a === "number" && typeof b === "number") {
    return a === b || Math.abs(a - b) <= 1e-6 * Math.max(Math.abs(a), Math.abs(b));
  }
  if (typeof a === "string" && typeof b === "string") return a.toLowerCase() === b.toLowerCase();
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The rows of the table: {name, label, aliases}. A user's alias folds into the recorded row
 * when every training that has both holds the same value in them; the label then says both.
 * @param {import("./types.js").Training[]} trainings
 * @returns {{name: string, label: string, aliases: string[]}[]}
 */
export function paramRows(trainings) {
  const names = allNames(trainings);
  const present = new Set(names);
  const folded = new Map();
  for (const [name, aliases] of Object.entries(ALIASES)) {
    if (!present.has(name)) continue;
    const same = aliases.filter(
      (alias) =>
        present.has(alias) &&
        trainings.every((t) => !(alias in t.params) || !(name in t.params) || sameValue(t.params[alias], t.params[name])),
    );
    if (same.length) folded.set(name, same);
  }
  const hidden = new Set([...folded.values()].flat());
  return names
    .filter((name) => !hidden.has(name))
    .map((name) => {
      const aliases = folded.get(name) ?? [];
      return { name, label: aliases.length ? `${name} (${aliases.join(", ")})` : name, aliases };
    });
}

/**
 * One training's value in a row: the recorded one, else the first alias it has.
 * @param {import("./types.js").Training} training
 * @param {{name: string, aliases: string[]}} row
 */
export function rowValue(training, row) {
  for (const key of [row.name, ...row.aliases]) if (key in training.params) return training.params[key];
  return undefined;
}

/**
 * Names of the rows whose values are not the same in every training (missing counts).
 * @param {import("./types.js").Training[]} trainings
 */
export function differingParams(trainings) {
  const differ = new Set();
  if (trainings.length < 2) return differ;
  for (const row of paramRows(trainings)) {
    const first = rowValue(trainings[0], row);
    if (trainings.some((t) => !sameValue(rowValue(t, row), first))) differ.add(row.name);
  }
  return differ;
}
