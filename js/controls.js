// The control bar of a running training, beside Stop (whose menu holds Save and stop):
// Pause/Resume, a learning-rate field (Enter applies; x0.1 and x0.5), Checkpoint; each click
// shows requested → acknowledged → done from `state.commands`. Under it the training's rules
// (with remove), a form to add one (ruleform.js) and its latest events (docs/widget-state.md,
// Event). Text only, never markup: events hold sender names and paths.
import { button, h, listen, setText, show } from "./dom.js";
import { eventLine, eventsOf } from "./events.js";
import { createRuleForm } from "./ruleform.js";
import { isLive } from "./state.js";

const EVENTS_SHOWN = 5;
const PHASES = { sending: "requested…", sent: "requested…", acknowledged: "acknowledged…" };

/** The latest command of `kind`s this viewer sent to the training, or null. */
function latestCommand(commands, trainingId, kinds) {
  let found = null;
  for (const c of commands ?? []) {
    if (c.mine !== false && kinds.includes(c.kind) && (c.target === trainingId || c.target === "all")) found = c;
  }
  return found;
}

/** One line for a command's fate: "set_lr: acknowledged…", "checkpoint: saved …". */
export function commandLine(command) {
  if (!command) return "";
  const phase = PHASES[command.state];
  if (phase) return `${command.kind}: ${phase}`;
  const detail = command.detail ? `: ${command.detail}` : "";
  return `${command.kind} ${command.state}${detail}`;
}

/** Parse the learning-rate field: a number above 0, or null. */
export function parseRate(text) {
  const value = Number(String(text).trim());
  return Number.isFinite(value) && value > 0 ? value : null;
}

export function createControls(ctx, trainingId) {
  const { signal } = ctx;
  let paused = false;
  const send = (action, args) => {
    ctx.send(args ? { action, training_id: trainingId, args } : { action, training_id: trainingId });
    ctx.refresh();
  };
  const pause = button(
    { class: "dltrack-btn", testid: "pause-button", text: "Pause" },
    () => send(paused ? "resume" : "pause"),
    signal,
  );
  const rate = h("input", {
    class: "dltrack-lr-input",
    testid: "lr-input",
    type: "text",
    inputmode: "decimal",
    "aria-label": "Learning rate (Enter applies)",
    size: 9,
  });
  listen(rate, "keydown", (event) => {
    if (event.key !== "Enter") return;
    const value = parseRate(rate.value);
    rate.setCustomValidity(value === null ? "a number above 0" : "");
    if (value !== null) send("set_lr", { value });
  }, signal);
  const factor = (f, label) =>
    button({ class: "dltrack-btn dltrack-btn-quiet", testid: `lr-x${f}`, text: label }, () => send("set_lr", { factor: f }), signal);
  const checkpoint = button(
    { class: "dltrack-btn", testid: "checkpoint-button", text: "Checkpoint" },
    () => send("checkpoint"),
    signal,
  );
  const status = h("div", { class: "dltrack-controls-status", testid: "controls-status", role: "status", "aria-live": "polite" });
  const paused_ = h("span", { class: "dltrack-paused", testid: "paused", hidden: true });
  const bar = h("div", { class: "dltrack-controls-bar" }, [
    pause, paused_, h("label", { class: "dltrack-lr" }, [h("span", { text: "LR" }), rate]),
    factor(0.1, "×0.1"), factor(0.5, "×0.5"), checkpoint,
  ]);
  const rules = h("ul", { class: "dltrack-rules", testid: "rules" });
  const ruleForm = createRuleForm({ signal, submit: (rule) => send("add_rule", rule) });
  const events = h("ul", { class: "dltrack-events", testid: "events" });
  const el = h("div", { class: "dltrack-steering" }, [bar, status, rules, ruleForm.el, events]);

  function update(training, view) {
    // The serve page's read-only view (`ctx.readOnly`) offers no steering at all; a read-only
    // share in a notebook (`can_control` false) hides it through `.dltrack-read-only`.
    const live = isLive(training) && !ctx.readOnly;
    show(bar, live);
    paused = Boolean(training.paused_since);
    setText(pause, paused ? "Resume" : "Pause");
    show(paused_, paused);
    if (paused) setText(paused_, `paused since ${new Date(training.paused_since * 1000).toLocaleTimeString()}`);
    if (document.activeElement !== rate && training.lr) rate.value = String(Number(training.lr.toPrecision(4)));
    const kinds = ["set_lr", "pause", "resume", "checkpoint", "save_and_stop", "add_rule", "remove_rule"];
    setText(status, commandLine(latestCommand(view.snap.commands, trainingId, kinds)));
    drawRules(training.rules ?? [], live);
    ruleForm.update(training, live);
    const shown = eventsOf(training).slice(-EVENTS_SHOWN);
    events.replaceChildren(...shown.map((e) => h("li", { "data-kind": e.kind, text: eventLine(e) })));
  }

  function drawRules(list, live) {
    rules.replaceChildren(
      ...list.map((rule) =>
        h("li", {}, [
          h("span", { text: rule.describe || rule.id }),
          live
            ? button(
                { class: "dltrack-btn dltrack-btn-quiet", testid: "rule-remove", text: "remove", "aria-label": `Remove rule ${rule.id}` },
                () => send("remove_rule", { id: rule.id }),
                signal,
              )
            : null,
        ]),
      ),
    );
  }

  return { el, update };
}
