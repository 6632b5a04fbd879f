// The parameters table: which names, in which order, and which differ between trainings. Pure.

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

