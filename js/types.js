// JSDoc shapes of the snapshot after normalizeSnapshot (docs/widget-state.md is the contract);
// `tsc --noEmit` (tsconfig.json, `make lint`) checks the modules against them. No runtime code.

/**
 * @typedef {Record<string, number>} Logs
 *
 * @typedef {object} Epoch
 * @property {number} epoch 0-based
 * @property {Logs} [logs]
 * @property {number | null} [steps]
 * @property {number | null} [started_at]
 * @property {number | null} [ended_at]
 *
 * @typedef {object} Current
 * @property {number} epoch
 * @property {number} step
 * @property {number | null} [steps]
 * @property {Logs} [logs]
 * @property {number} [epoch_started_at]
 * @property {number | null} [rate]
 *
 * @typedef {object} Stop
 * @property {string} [sender]
 * @property {string} [kind]
 * @property {number | null} [epoch]
 * @property {number | null} [step]
 *
 * @typedef {object} Training
 * @property {string} training_id
 * @property {number | null} [number]
 * @property {string} status
 * @property {number} [started_at]
 * @property {number | null} [ended_at]
 * @property {number | null} [last_seen]
 * @property {Record<string, unknown>} params
 * @property {number | null} [epochs_planned]
 * @property {number} [epochs_done]
 * @property {Logs} final_logs
 * @property {Stop | null} stop
 * @property {string | null} [reason]
 * @property {Epoch[]} epochs
 * @property {Current | null} current
 *
 * @typedef {object} Command
 * @property {string} id
 * @property {string} kind
 * @property {string} target
 * @property {string} state
 * @property {string} [detail]
 * @property {number} [sent_at]
 *
 * @typedef {object} Snapshot
 * @property {{key: string, name: string} | null} model
 * @property {{status: string, detail: string, broker: string, store: string, store_status: string, store_detail: string}} connection
 * @property {string | null} error
 * @property {number | null} now
 * @property {Training[]} trainings
 * @property {Command[]} commands
 */

export {};
