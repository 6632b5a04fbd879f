// The page's service worker: only there because some browsers (Android's Chrome) show a
// notification only through one. A tap on a notification brings the page back.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(
    self.clients.matchAll({ type: "window" }).then((windows) => windows[0]?.focus()),
  );
});
