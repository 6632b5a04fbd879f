// @vitest-environment happy-dom
// Cost of one update → redraw at the scale the monitor must handle: 50 trainings × 1000 epochs,
// the newest running, 10 trainings overlaid in compare mode. `npm run bench`.
// Finished trainings' epochs sit in the `history` trait (unchanged between progress updates),
// as the Python side sends them; the JSON.parse rows show what the host pays per message.
import { bench, describe } from "vitest";
import { mount } from "../widget.js";
import { epochRecord, fakeEnv, fakeModel, NOW, runningTraining, training } from "../tests/fixtures.js";

function bigSnapshot(step) {
  const epochs = Array.from({ length: 1000 }, (_, e) =>
    epochRecord(e, { loss: 1 / (e + 1), val_loss: 1.1 / (e + 1), accuracy: 1 - 1 / (e + 2), val_accuracy: 1 - 1.2 / (e + 2) }),
  );
  const trainings = Array.from({ length: 50 }, (_, i) =>
    training({ number: 50 - i, epochs, epochs_done: 1000, epochs_planned: 1000, params: { lr: i, epochs: 1000 } }),
  );
  trainings[0] = runningTraining({
    number: 50,
    epochs,
    epochs_done: 1000,
    epochs_planned: 2000,
    current: { epoch: 1000, step, steps: 50, logs: { loss: 0.1, accuracy: 0.9 }, epoch_started_at: NOW - 3, rate: 12 },
  });
  return { model: { key: "k", name: "big" }, connection: { status: "live", detail: "" }, error: null, now: NOW + step / 10, trainings, commands: [] };
}

/** (state, history) as the widget's traits carry them. */
function split(snapshot) {
  const history = {};
  const trainings = snapshot.trainings.map((t) => {
    if (t.status === "running" || t.status === "lost") return t;
    history[t.training_id] = t.epochs;
    return { ...t, epochs: null };
  });
  return [{ ...snapshot, trainings }, history];
}

describe("redraw", () => {
  const [first, history] = split(bigSnapshot(0));
  const model = fakeModel(first, { history });
  const env = fakeEnv();
  const el = document.createElement("div");
  document.body.append(el);
  mount(model, el, env);
  for (const row of [...el.querySelectorAll("[data-testid=training-row] input")].slice(1, 10)) row.click();
  // Distinct objects each time, as a deserialised trait would be.
  const states = Array.from({ length: 10 }, (_, i) => JSON.stringify(split(bigSnapshot(i + 1))[0]));
  const whole = JSON.stringify(bigSnapshot(1));
  const parsed = states.map((text) => JSON.parse(text));
  let i = 0;

  bench(`JSON.parse, one trait with everything (${(whole.length / 1e6).toFixed(1)} MB)`, () => {
    JSON.parse(whole);
  });
  bench(`JSON.parse, state without finished epochs (${(states[0].length / 1e6).toFixed(2)} MB)`, () => {
    JSON.parse(states[i % states.length]);
  });
  bench("progress update → redraw, 50 × 1000 epochs, compare 10", () => {
    model.push(parsed[i++ % parsed.length]);
    env.flush();
  });
});
