// Snapshots shaped like the `state` trait (docs/widget-state.md), and a fake anywidget model.

export const NOW = 1_700_000_000;

export function epochRecord(epoch, logs = {}, { steps = 50, started = NOW - 1000 + epoch * 10 } = {}) {
  return { epoch, logs, steps, started_at: started, ended_at: started + 8 };
}

export function training(overrides = {}) {
  const number = overrides.number ?? 1;
  return {
    training_id: overrides.training_id ?? `${number}`.padStart(16, "0"),
    number,
    status: "completed",
    started_at: NOW - 600,
    ended_at: NOW - 60,
    last_seen: NOW - 60,
    params: { epochs: 3, steps: 50, batch_size: 32, optimizer: "adam", learning_rate: 0.001 },
    epochs_planned: 3,
    epochs_done: 3,
    final_logs: { loss: 0.2, accuracy: 0.93, val_loss: 0.25, val_accuracy: 0.91 },
    stop: null,
    reason: null,
    epochs: [0, 1, 2].map((e) =>
      epochRecord(e, { loss: 0.5 - e * 0.1, accuracy: 0.8 + e * 0.05, val_loss: 0.55 - e * 0.1, val_accuracy: 0.78 + e * 0.05 }),
    ),
    current: null,
    ...overrides,
  };
}

export function runningTraining(overrides = {}) {
  return training({
    number: 3,
    status: "running",
    ended_at: null,
    last_seen: NOW - 1,
    params: { epochs: 20, steps: 50, batch_size: 32, optimizer: "adam", learning_rate: 0.001 },
    epochs_planned: 20,
    epochs_done: 3,
    final_logs: {},
    current: { epoch: 3, step: 31, steps: 50, logs: { loss: 0.41, accuracy: 0.88 }, epoch_started_at: NOW - 3, rate: 12.3 },
    ...overrides,
  });
}

export function snapshot(overrides = {}) {
  return {
    model: { id: "id_3f9a2c4e8b1d7a6f5e0c9b8a7d6e5f40", name: "mnist-mlp" },
    connection: { status: "live", detail: "amqp://user:***@host/vh", broker: "amqp://user:***@host/vh", store: "sqlite:///x.db" },
    error: null,
    now: NOW,
    trainings: [runningTraining(), training({ number: 2, status: "stopped", stop: { sender: "alice@laptop", requested_at: NOW - 900, kind: "stop", epoch: 1, step: 17 } }), training({ number: 1 })],
    commands: [],
    ...overrides,
  };
}

/** The parts of an anywidget model the widget uses, with a way to push new trait values. */
export function fakeModel(state, traits = {}) {
  const listeners = new Map();
  const values = { state, ...traits };
  const model = {
    sent: [],
    get: (name) => values[name],
    on(event, fn) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event).add(fn);
    },
    off(event, fn) {
      listeners.get(event)?.delete(fn);
    },
    send(message) {
      model.sent.push(message);
    },
    save_changes() {},
    listenerCount: () => [...listeners.values()].reduce((n, set) => n + set.size, 0),
    set(name, value) {
      values[name] = value;
      for (const fn of listeners.get(`change:${name}`) ?? []) fn();
    },
    push(next) {
      model.set("state", next);
    },
  };
  return model;
}

/** A controllable clock and frame queue for mount(). */
export function fakeEnv() {
  const env = {
    ms: 0,
    frames: new Map(),
    nextId: 1,
    intervals: new Map(),
    now: () => env.ms,
    raf(fn) {
      const id = env.nextId++;
      env.frames.set(id, fn);
      return id;
    },
    caf(id) {
      env.frames.delete(id);
    },
    setInterval(fn) {
      const id = env.nextId++;
      env.intervals.set(id, fn);
      return id;
    },
    clearInterval(id) {
      env.intervals.delete(id);
    },
    timeouts: new Map(),
    setTimeout(fn, ms) {
      const id = env.nextId++;
      env.timeouts.set(id, { fn, at: env.ms + ms });
      return id;
    },
    clearTimeout(id) {
      env.timeouts.delete(id);
    },
    flush() {
      const pending = [...env.frames.values()];
      env.frames.clear();
      for (const fn of pending) fn();
    },
    /** Move the clock; each interval fires once, due timeouts fire, then frames run. */
    advance(ms, { ticks = true } = {}) {
      env.ms += ms;
      if (ticks) for (const fn of env.intervals.values()) fn();
      for (const [id, t] of env.timeouts) {
        if (t.at <= env.ms) {
          env.timeouts.delete(id);
          t.fn();
        }
      }
      env.flush();
    },
  };
  return env;
}
