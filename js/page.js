// The `dltrack serve` page: the widget's own bundle (widget.js), rendered once per model with a
// model object that speaks anywidget's model API over one websocket instead of a Jupyter comm.
//
// The token arrives in this module's own URL (the page put it there from the address bar); it
// is added to every request this page makes, because the server checks it on every one.
import { createNotifier } from "./notify.js";

const TOKEN = new URL(import.meta.url).searchParams.get("token") ?? "";
const RECONNECT_MS = [500, 1000, 2000, 5000];

function withToken(path) {
  return `${path}?token=${encodeURIComponent(TOKEN)}`;
}

/**
 * anywidget's model API (get/set/on/off/save_changes/send, "change:NAME" and "msg:custom"
 * events) over the page's websocket. The server owns the state: `set` changes it only here,
 * `save_changes` has nothing to sync, and `send` is what a button click becomes.
 */
export class SocketModel {
  constructor(id, post) {
    this.id = id;
    this.post = post;
    this.values = {};
    this.handlers = new Map();
  }

  get(name) {
    return this.values[name];
  }

  set(name, value) {
    this.values[name] = value;
    this.emit(`change:${name}`, value);
  }

  on(event, fn) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event).add(fn);
  }

  off(event, fn) {
    if (!event) this.handlers.clear();
    else if (!fn) this.handlers.delete(event);
    else this.handlers.get(event)?.delete(fn);
  }

  save_changes() {}

  send(content) {
    this.post({ monitor: this.id, content });
  }

  emit(event, ...args) {
    for (const fn of this.handlers.get(event) ?? []) fn(...args);
  }

  /** Values from the server: every trait first, then one change event each (like a sync). */
  receive(values) {
    Object.assign(this.values, values);
    for (const [name, value] of Object.entries(values)) this.emit(`change:${name}`, value);
  }
}

function addHeadLink(rel, path, extra = {}) {
  const link = document.createElement("link");
  link.rel = rel;
  link.href = withToken(path);
  for (const [k, v] of Object.entries(extra)) link.setAttribute(k, v);
  document.head.append(link);
}

async function start() {
  // In the widget the host injects the CSS; here the page does.
  addHeadLink("stylesheet", "widget.css");
  addHeadLink("manifest", "manifest.webmanifest");
  addHeadLink("apple-touch-icon", "icon-192.png");
  const widget = (await import(withToken("./widget.js"))).default;
  // The page's own elements (index.html): there whenever this runs.
  const root = /** @type {HTMLElement} */ (document.getElementById("monitors"));
  const banner = /** @type {HTMLElement} */ (document.getElementById("connection"));
  const notify = /** @type {HTMLButtonElement} */ (document.getElementById("notify"));
  const notifier = createNotifier(notify, withToken);
  /** @type {SocketModel[]} */
  const models = [];
  /** @type {WebSocket | null} */
  let socket = null;
  let attempt = 0;

  const post = (message) => {
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  };

  function onHello({ monitors, read_only: readOnly }) {
    if (models.length) return; // a reconnect: the monitors are already there
    document.body.dataset.control = readOnly ? "read-only" : "allowed";
    for (let id = 0; id < monitors; id += 1) {
      const model = new SocketModel(id, post);
      model.values.read_only = readOnly;
      model.on("change:state", (state) => notifier.update(id, state));
      const el = document.createElement("div");
      el.className = "dltrack-page-monitor";
      el.dataset.testid = "page-monitor";
      root.append(el);
      widget.render({ model, el });
      models.push(model);
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}${withToken("/ws")}`);
    socket = ws;
    ws.addEventListener("open", () => {
      attempt = 0;
      banner.hidden = true;
    });
    ws.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.kind === "hello") onHello(message);
      else if (message.kind === "update") models[message.monitor]?.receive(message.values);
      else if (message.kind === "custom") models[message.monitor]?.emit("msg:custom", message.content, []);
    });
    ws.addEventListener("close", () => {
      banner.hidden = false;
      banner.textContent = "Lost the connection to dltrack serve; reconnecting…";
      const delay = RECONNECT_MS[Math.min(attempt, RECONNECT_MS.length - 1)];
      attempt += 1;
      setTimeout(connect, delay);
    });
  }

  connect();
}

if (typeof document !== "undefined" && document.getElementById("monitors")) start();
