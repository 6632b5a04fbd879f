// The rules panel's "add a rule" form: metric (the metrics seen so far offered in a
// <datalist>, any name allowed), condition, its number, action (and the factor of set_lr).
// `ruleFromForm` turns the fields into the flat rule of an `add_rule` command
// (docs/control.md, Rules), the same shape `dltrack rules add` sends. It only catches what
// is plainly wrong (no metric, not a number) so that nothing is sent for it; the training
// judges every rule with its one parser (`Rule.from_args`) and a refusal shows in the
// control bar's status line like any command's.
import { button, h, listen, setText, show } from "./dom.js";
import { metricNames } from "./metrics.js";

/** The conditions offered, as `when` of a rule, and what their number means. */
export const CONDITIONS = [
  { when: "above", label: "≥", amount: "value" },
  { when: "below", label: "≤", amount: "value" },
  { when: "plateau", label: "not improved for N epochs", amount: "epochs" },
  { when: "nan", label: "is NaN", amount: null },
  { when: "after", label: "after T minutes", amount: "minutes" },
];
export const ACTIONS = ["notify", "checkpoint", "stop", "save_and_stop", "set_lr"];
const ID_LENGTH = 40; // the training refuses longer ids
const METRIC_LENGTH = 100;

/** A number typed in a field, or null: empty is not 0. */
function number(text) {
  const trimmed = String(text ?? "").trim();
  const value = trimmed === "" ? NaN : Number(trimmed);
  return Number.isFinite(value) ? value : null;
}

/** An id not in `taken`: `base`, else `base-2`, `base-3`…, at most 40 characters. */
export function freshId(base, taken) {
  const used = new Set(taken);
  let id = base.slice(0, ID_LENGTH);
  for (let n = 2; used.has(id); n++) id = `${base.slice(0, ID_LENGTH - String(n).length - 1)}-${n}`;
  return id;
}

/**
 * `fields` ({metric, when, amount, action, factor}, the form's strings) as a rule, or why not:
 * `{rule}` or `{error}` (one line saying what to fix). `taken`: the ids the training holds.
 */
export function ruleFromForm(fields, taken = []) {
  const condition = CONDITIONS.find((c) => c.when === fields.when);
  if (!condition) return { error: "choose a condition" };
  if (!ACTIONS.includes(fields.action)) return { error: "choose an action" };
  const metric = String(fields.metric ?? "").trim();
  const needsMetric = condition.when !== "after";
  if (needsMetric && metric === "") return { error: "name a metric, e.g. val_loss" };
  if (metric.length > METRIC_LENGTH) return { error: `a metric name has at most ${METRIC_LENGTH} characters` };
  const rule = { id: "", when: condition.when, action: fields.action };
  if (needsMetric) rule.metric = metric;
  const amount = number(fields.amount);
  if (condition.amount === "value") {
    if (amount === null) return { error: "the value must be a number" };
    rule.value = amount;
  } else if (condition.amount === "epochs") {
    if (amount === null || !Number.isInteger(amount) || amount < 1) return { error: "N must be a whole number of epochs, 1 or more" };
    rule.patience = amount;
  } else if (condition.amount === "minutes") {
    if (amount === null || amount <= 0) return { error: "T must be a number of minutes above 0" };
    rule.value = amount;
  }
  if (fields.action === "set_lr") {
    const factor = number(fields.factor);
    if (factor === null || factor <= 0) return { error: "the factor must be a number above 0, e.g. 0.5" };
    rule.factor = factor;
  }
  // Named like the CLI's default (`WHEN-METRIC`), so the list reads the same from both.
  rule.id = freshId(needsMetric ? `${rule.when}-${metric}` : `after-${amount}m`, taken);
  return { rule };
}

let forms = 0;

/** The form; `submit(rule)` sends it. `update(training, live)` refreshes the metrics offered. */
export function createRuleForm({ signal, submit }) {
  const listId = `dltrack-rule-metrics-${++forms}`;
  const options = h("datalist", { id: listId });
  const metric = h("input", { class: "dltrack-input dltrack-rule-metric", testid: "rule-metric", type: "text", list: listId, placeholder: "metric", "aria-label": "Metric", size: 12 });
  const when = h("select", { class: "dltrack-input", testid: "rule-when", "aria-label": "Condition" },
    CONDITIONS.map((c) => h("option", { value: c.when, text: c.label })));
  const amount = h("input", { class: "dltrack-input dltrack-rule-number", testid: "rule-amount", type: "text", inputmode: "decimal", "aria-label": "Value", size: 6 });
  const action = h("select", { class: "dltrack-input", testid: "rule-action", "aria-label": "Action" },
    ACTIONS.map((a) => h("option", { value: a, text: a === "set_lr" ? "set_lr ×F" : a })));
  const factor = h("input", { class: "dltrack-input dltrack-rule-number", testid: "rule-factor", type: "text", inputmode: "decimal", placeholder: "F", "aria-label": "Learning-rate factor", size: 4, hidden: true });
  const error = h("span", { class: "dltrack-rule-error", testid: "rule-error", role: "alert" });
  const add = button({ class: "dltrack-btn", testid: "rule-add", text: "Add rule" }, () => onSubmit(), signal);
  const el = h("div", { class: "dltrack-rule-form", testid: "rule-form", role: "group", "aria-label": "Add a rule" }, [
    h("span", { text: "when" }), metric, when, amount, h("span", { text: "→" }), action, factor, add, error, options,
  ]);
  /** @type {string[]} */
  let taken = [];
  // Ids sent but maybe not yet in the training's rules: a second rule must not reuse one.
  const sent = new Set();
  let offered = "";

  const relabel = () => {
    const condition = CONDITIONS.find((c) => c.when === when.value);
    show(metric, condition?.when !== "after");
    show(amount, Boolean(condition?.amount));
    amount.setAttribute("placeholder", condition?.amount === "value" ? "value" : condition?.amount === "epochs" ? "N" : "T");
    amount.setAttribute("aria-label", condition?.amount ?? "value");
    show(factor, action.value === "set_lr");
  };
  function onSubmit() {
    const made = ruleFromForm({ metric: metric.value, when: when.value, amount: amount.value, action: action.value, factor: factor.value }, [...taken, ...sent]);
    setText(error, made.error ?? "");
    if (!made.rule) return;
    sent.add(made.rule.id);
    submit(made.rule);
  }
  listen(when, "change", relabel, signal);
  listen(action, "change", relabel, signal);
  for (const field of [metric, amount, factor]) {
    listen(field, "keydown", (event) => {
      if (event.key === "Enter") onSubmit();
    }, signal);
  }
  relabel();

  function update(training, live) {
    show(el, live);
    taken = (training.rules ?? []).map((r) => r.id);
    const names = [...new Set([...metricNames([training]), ...Object.keys(training.current?.logs ?? {})])];
    const next = names.join("\n");
    if (next !== offered) {
      offered = next;
      options.replaceChildren(...names.map((n) => h("option", { value: n })));
    }
  }
  return { el, update };
}
