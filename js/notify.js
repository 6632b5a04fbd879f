// Browser notifications, for the widget (a rule with action notify fired: notes.js) and the
// `dltrack serve` page (a training it saw running ended). Browsers allow them only after the
// user agreed (a click on "Notify me") and only in a secure context (https, or localhost).

const LIVE = new Set(["running", "lost"]);

/** Whether this page may show notifications now. */
export const notificationsAllowed = () =>
  typeof Notification !== "undefined" && Notification.permission === "granted";

/** Show one notification; `tag` folds repeats of the same news (two views of one output). */
export function showNotification(title, body, tag = title) {
  try {
    new Notification(title, { body, tag });
  } catch {
    // Android's Chrome only shows notifications through a service worker.
    navigator.serviceWorker?.getRegistration().then((r) => r?.showNotification(title, { body, tag }));
  }
}

/**
 * Make `button` ask for permission; it hides itself once the user answered (or where the
 * browser has no notifications). `wanted()` says whether to offer it at all now.
 * Returns `refresh()`, to call when `wanted()` may have changed.
 */
export function permissionButton(button, wanted = () => true, signal = undefined) {
  const supported = typeof Notification !== "undefined";
  const refresh = () => {
    const hidden = !supported || Notification.permission !== "default" || !wanted();
    if (button.hidden !== hidden) button.hidden = hidden;
  };
  if (supported) {
    button.addEventListener("click", async () => {
      await Notification.requestPermission();
      refresh();
    }, { signal });
  }
  refresh();
  return refresh;
}

/** The serve page's: `button` asks for permission; `update(monitorId, state)` notifies of trainings that ended. */
export function createNotifier(button, withToken) {
  const seen = new Map(); // monitor id → Map(training id → last status)
  permissionButton(button);
  if (typeof Notification !== "undefined" && window.isSecureContext && navigator.serviceWorker) {
    navigator.serviceWorker.register(withToken("sw.js")).catch(() => {});
  }

  function update(monitorId, state) {
    const before = seen.get(monitorId);
    const now = new Map((state?.trainings ?? []).map((t) => [t.training_id, t.status]));
    seen.set(monitorId, now);
    if (!before || !notificationsAllowed()) return;
    for (const training of state.trainings) {
      const was = before.get(training.training_id);
      if (LIVE.has(was) && !LIVE.has(training.status)) {
        const name = state.model?.name ?? "dltrack";
        showNotification(`${name} #${training.number ?? "?"} ${training.status}`, `after ${training.epochs_done} epoch(s)`);
      }
    }
  }

  return { update };
}
