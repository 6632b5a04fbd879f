// Time-left estimates for the current epoch and the whole training. Pure.

import { isFiniteNumber } from "./guards.js";

/**
 * Steps per second: the reported rate when there is one, else measured from the epoch so far.
 * Returns null when neither is known.
 */
export function effectiveRate(rate, step, elapsedSeconds) {
  if (isFiniteNumber(rate) && rate > 0) return rate;
  if (isFiniteNumber(step) && step > 0 && isFiniteNumber(elapsedSeconds) && elapsedSeconds > 0) {
    return step / elapsedSeconds;
  }
  return null;
}

/** Seconds left in the epoch; null when the step count or the rate is unknown. */
export function epochEta(step, steps, rate) {
  if (!isFiniteNumber(steps) || steps <= 0) return null;
  if (!isFiniteNumber(step) || !isFiniteNumber(rate) || rate <= 0) return null;
  return Math.max(0, steps - step) / rate;
}

/**
 * Seconds left in the whole training, assuming later epochs run like the current one:
 * the rest of this epoch plus (planned - epoch - 1) full epochs. Null when anything is unknown.
 */
export function trainingEta({ epoch, step, steps, rate, epochsPlanned }) {
  const thisEpoch = epochEta(step, steps, rate);
  if (thisEpoch === null || !isFiniteNumber(epochsPlanned) || !isFiniteNumber(epoch)) return null;
  const laterEpochs = Math.max(0, epochsPlanned - epoch - 1);
  return thisEpoch + (laterEpochs * steps) / rate;
}
