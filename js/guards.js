// Type guards for untrusted values (the snapshot arrives from the kernel as JSON). Pure.

/**
 * A plain object (not null, not an array).
 * @param {unknown} x
 * @returns {x is Record<string, any>}
 */
export const isObject = (x) => x !== null && typeof x === "object" && !Array.isArray(x);

/**
 * A number that is neither NaN nor ±Infinity.
 * @param {unknown} x
 * @returns {x is number}
 */
export const isFiniteNumber = (x) => typeof x === "number" && Number.isFinite(x);

/**
 * A positive integer (a training's number, a count of steps).
 * @param {unknown} x
 * @returns {x is number}
 */
export const isCount = (x) => Number.isInteger(x) && /** @type {number} */ (x) > 0;
