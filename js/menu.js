// A small "⋯" menu for actions that should not sit in plain view (deleting things): a button
// that opens a list; Escape, a click elsewhere or choosing an item closes it.
import { button, h, listen, setAttr, show } from "./dom.js";

/**
 * @param {{testid: string, label: string, signal: AbortSignal,
 *   items: {label: string, testid: string, danger?: boolean, onClick: () => void}[]}} options
 */
export function createMenu({ testid, label, signal, items }) {
  let open = false;
  const set = (next) => {
    open = next;
    show(list, open);
    setAttr(toggle, "aria-expanded", String(open));
  };
  const toggle = button(
    { class: "dltrack-btn dltrack-btn-quiet dltrack-menu-button", testid, text: "⋯", "aria-label": label, title: label, "aria-haspopup": "menu", "aria-expanded": "false" },
    () => set(!open),
    signal,
  );
  const entries = items.map((item) => {
    const entry = button(
      { class: `dltrack-menu-item${item.danger ? " dltrack-menu-danger" : ""}`, role: "menuitem", testid: item.testid, text: item.label },
      () => {
        set(false);
        item.onClick();
      },
      signal,
    );
    return { entry, item };
  });
  const list = h("div", { class: "dltrack-menu-list", role: "menu", hidden: true }, entries.map((e) => e.entry));
  const el = h("span", { class: "dltrack-menu" }, [toggle, list]);
  listen(el, "keydown", (event) => {
    if (event.key === "Escape" && open) {
      set(false);
      toggle.focus();
    }
  }, signal);
  listen(globalThis.document, "click", (event) => {
    if (open && !el.contains(/** @type {Node} */ (event.target))) set(false);
  }, signal);

  return {
    el,
    /**
     * Show or hide one item (by testid), and enable or disable it with a reason.
     * @param {string} itemTestid
     * @param {{visible?: boolean, disabled?: boolean, title?: string | null}} [state]
     */
    setItem(itemTestid, { visible = true, disabled = false, title = null } = {}) {
      const found = entries.find((e) => e.item.testid === itemTestid);
      if (!found) return;
      show(found.entry, visible);
      found.entry.disabled = disabled;
      setAttr(found.entry, "title", title);
    },
  };
}
