// The viewer's UI choices kept in the synced `ui_state` trait (docs/widget-state.md), so a
// page reload, or a second view of the same output, finds the same tab, selection and
// comparison. Only ids and short names go there: never a value from the data.

const TABS = new Set(["epochs", "charts", "trainings", "params"]);
const ID = /^[0-9a-f]{16}$/;
const MAX_COMPARED = 50;
export const MIN_HEIGHT = 240;
export const MAX_HEIGHT = 4000;

/**
 * The choices in a `ui_state` value, each dropped when malformed.
 * @param {unknown} raw
 * @returns {{tab: string | null, selected: string | null, compare: string[], axis: string | null, smoothing: number | null, log: boolean | null, goals: Record<string, string>, height: number | null}}
 */
export function parseUiState(raw) {
  const s = raw !== null && typeof raw === "object" && !Array.isArray(raw) ? /** @type {Record<string, unknown>} */ (raw) : {};
  const compare = Array.isArray(s.compare) ? s.compare.filter((id) => typeof id === "string" && ID.test(id)) : [];
  const height = typeof s.height === "number" && s.height >= MIN_HEIGHT && s.height <= MAX_HEIGHT ? Math.round(s.height) : null;
  return {
    tab: typeof s.tab === "string" && TABS.has(s.tab) ? s.tab : null,
    selected: typeof s.selected === "string" && ID.test(s.selected) ? s.selected : null,
    compare: compare.slice(0, MAX_COMPARED),
    axis: typeof s.axis === "string" && /^[a-z_]{1,20}$/.test(s.axis) ? s.axis : null,
    smoothing: typeof s.smoothing === "number" && s.smoothing >= 0 && s.smoothing <= 0.99 ? s.smoothing : null,
    log: typeof s.log === "boolean" ? s.log : null,
    goals: parseGoals(s.goals),
    height,
  };
}

const MAX_GOALS = 50;
const GOAL_NAME = /^[\w.\-/]{1,100}$/;

/**
 * Best-epoch goals by metric name ({val_auc: "min"}): metric-like names only, min or max.
 * @param {unknown} raw
 * @returns {Record<string, string>}
 */
function parseGoals(raw) {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return {};
  const entries = Object.entries(raw).filter(([name, goal]) => GOAL_NAME.test(name) && (goal === "min" || goal === "max"));
  return Object.fromEntries(entries.slice(0, MAX_GOALS));
}

/**
 * The trait's value for the viewer's current choices.
 * @param {{tab: string | null, selectedId: string | null, compare: Set<string>, axis: string | null, smoothing: number | null, log: boolean | null, goals: Record<string, string>, height: number | null}} ui
 */
export function uiStateOf(ui) {
  return {
    tab: ui.tab,
    selected: ui.selectedId,
    compare: [...ui.compare].slice(0, MAX_COMPARED),
    axis: ui.axis,
    smoothing: ui.smoothing,
    log: ui.log,
    goals: ui.goals,
    height: ui.height,
  };
}
