// Browser notifications for the `dltrack serve` page: one when a training the page saw running
// ends (completed, failed, stopped, interrupted). Browsers allow them only after the user
// agreed (a click on "Notify me") and only in a secure context (https, or localhost).

const LIVE = new Set(["running", "lost"]);

function show(title, body) {
  try {
    new Notification(title, { body, tag: title });
  } catch {
    // Android's Chrome only shows notifications through a service worker.
    navigator.serviceWorker?.getRegistration().then((r) => r?.showNotification(title, { body, tag: title }));
  }
}

/** `button` asks for permission; `update(monitorId, state)` notifies of trainings that ended. */
export function createNotifier(button, withToken) {
  const supported = typeof Notification !== "undefined";
  const seen = new Map(); // monitor id → Map(training id → last status)

  const refreshButton = () => {
    button.hidden = !supported || Notification.permission !== "default";
  };
  if (supported) {
    button.addEventListener("click", async () => {
      await Notification.requestPermission();
      refreshButton();
    });
    if (window.isSecureContext && navigator.serviceWorker) {
      navigator.serviceWorker.register(withToken("sw.js")).catch(() => {});
    }
  }
  refreshButton();

  function update(monitorId, state) {
    const before = seen.get(monitorId);
    const now = new Map((state?.trainings ?? []).map((t) => [t.training_id, t.status]));
    seen.set(monitorId, now);
    if (!before || !supported || Notification.permission !== "granted") return;
    for (const training of state.trainings) {
      const was = before.get(training.training_id);
      if (LIVE.has(was) && !LIVE.has(training.status)) {
        const name = state.model?.name ?? "dltrack";
        show(`${name} #${training.number ?? "?"} ${training.status}`, `after ${training.epochs_done} epoch(s)`);
      }
    }
  }

  return { update };
}
