// The tabs below the summary (Epochs, Charts, Trainings, Parameters): a WAI-ARIA tablist whose
// panels stay in the DOM (hidden), so switching keeps their scroll position and their nodes.
import { button, h, listen, setAttr, show, toggleClass } from "./dom.js";

/**
 * @param {{ui: any, signal: AbortSignal, refresh: () => void, saveUi: () => void}} ctx
 * @param {{id: string, label: string, el: HTMLElement}[]} tabs
 * @param {Node[]} [aside] shown at the end of the tab row
 */
export function createTabs(ctx, tabs, aside = []) {
  const { ui, signal } = ctx;
  const choose = (id) => {
    ui.tab = id;
    ctx.saveUi();
    ctx.refresh();
  };
  const buttons = tabs.map((tab) =>
    button(
      { class: "dltrack-tab", role: "tab", id: `dltrack-tab-${tab.id}`, testid: `tab-${tab.id}`, "data-tab": tab.id, text: tab.label },
      () => choose(tab.id),
      signal,
    ),
  );
  const list = h("div", { class: "dltrack-tablist", role: "tablist", "aria-label": "Training details" }, buttons);
  // Arrow keys move between tabs, as the WAI-ARIA tabs pattern asks.
  listen(list, "keydown", (event) => {
    const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (!step) return;
    const at = tabs.findIndex((t) => t.id === ui.tab);
    const next = tabs[(at + step + tabs.length) % tabs.length];
    choose(next.id);
    buttons[tabs.indexOf(next)].focus();
  }, signal);
  const panels = tabs.map((tab) =>
    h("div", { class: "dltrack-tabpanel", role: "tabpanel", testid: `panel-${tab.id}`, "aria-labelledby": `dltrack-tab-${tab.id}` }, [tab.el]),
  );
  const bar = h("div", { class: "dltrack-tabbar" }, [list, ...aside]);
  const body = h("div", { class: "dltrack-tabpanels" }, panels);

  /** @param {string} fallback the tab to show while the viewer chose none */
  function update(fallback) {
    const active = tabs.some((t) => t.id === ui.tab) ? ui.tab : fallback;
    tabs.forEach((tab, i) => {
      const on = tab.id === active;
      setAttr(buttons[i], "aria-selected", String(on));
      setAttr(buttons[i], "tabindex", on ? "0" : "-1");
      toggleClass(buttons[i], "dltrack-tab-active", on);
      show(panels[i], on);
    });
  }
  return { bar, body, update };
}
