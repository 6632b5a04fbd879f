// The steps of a finished epoch, against the steps Keras planned for it. Pure.
// An epoch record's `steps` is the batches actually done: fewer than planned when the training
// was stopped part-way through that epoch (Keras still ends the epoch, validation included).

import { isCount } from "./guards.js";

/** Steps per epoch Keras planned (`params.steps`, else the current epoch's), or null. */
export function plannedSteps(training) {
  if (isCount(training?.params?.steps)) return training.params.steps;
  if (isCount(training?.current?.steps)) return training.current.steps;
  return null;
}

/**
 * What a finished epoch's bar shows: {text, fraction, partial}. "90/90" for a whole epoch,
 * "20/90 (partial)" for one cut short, "20 steps" when the plan is unknown.
 */
export function epochSteps(done, planned) {
  if (!Number.isInteger(done) || done < 0) return { text: "", fraction: 1, partial: false };
  if (!isCount(planned)) return { text: `${done} step${done === 1 ? "" : "s"}`, fraction: 1, partial: false };
  const partial = done < planned;
  return {
    text: partial ? `${done}/${planned} (partial)` : `${done}/${planned}`,
    fraction: Math.min(1, done / planned),
    partial,
  };
}
