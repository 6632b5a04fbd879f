// The drag handle at the widget's foot: the widget is at most 600 px tall (the tabs scroll
// inside it) until the viewer drags it taller or shorter; the choice is kept in `ui_state`.
// A handle rather than CSS `resize`, which cannot resize past a max-height.
import { h, listen } from "./dom.js";
import { MAX_HEIGHT, MIN_HEIGHT } from "./uistate.js";

const STEP = 40;

/**
 * @param {{ui: any, signal: AbortSignal, saveUi: () => void}} ctx
 * @param {HTMLElement} root
 */
export function createResizeHandle(ctx, root) {
  const { ui, signal } = ctx;
  const el = h("div", {
    class: "dltrack-resize",
    testid: "resize-handle",
    role: "separator",
    "aria-orientation": "horizontal",
    "aria-label": "Drag to resize the monitor (double-click: default height)",
    title: "Drag to resize (double-click: default height)",
    tabindex: 0,
  });
  const apply = () => {
    const value = ui.height === null ? "" : `${ui.height}px`;
    if (root.style.getPropertyValue("--dltrack-max-height") !== value) {
      if (value) root.style.setProperty("--dltrack-max-height", value);
      else root.style.removeProperty("--dltrack-max-height");
    }
  };
  const setHeight = (px) => {
    ui.height = Math.round(Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, px)));
    apply();
  };
  /** @type {{y: number, height: number} | null} */
  let start = null;
  listen(el, "pointerdown", (event) => {
    start = { y: event.clientY, height: root.getBoundingClientRect().height };
    el.setPointerCapture?.(event.pointerId);
    event.preventDefault();
  }, signal);
  listen(el, "pointermove", (event) => {
    if (start) setHeight(start.height + event.clientY - start.y);
  }, signal);
  const end = () => {
    if (!start) return;
    start = null;
    ctx.saveUi();
  };
  listen(el, "pointerup", end, signal);
  listen(el, "pointercancel", end, signal);
  listen(el, "dblclick", () => {
    ui.height = null;
    apply();
    ctx.saveUi();
  }, signal);
  listen(el, "keydown", (event) => {
    const step = event.key === "ArrowDown" ? STEP : event.key === "ArrowUp" ? -STEP : 0;
    if (!step) return;
    event.preventDefault();
    setHeight(root.getBoundingClientRect().height + step);
    ctx.saveUi();
  }, signal);
  return { el, update: apply };
}
