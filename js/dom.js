// Small DOM helpers. Data only ever reaches the page as text (textContent, text nodes,
// attribute values), never as markup: model, metric and sender names are untrusted.

const SVG_NS = "http://www.w3.org/2000/svg";

function applyProps(node, props) {
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.setAttribute("class", value);
    else if (key === "text") node.textContent = String(value);
    else if (key === "testid") node.setAttribute("data-testid", value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
}

/** An element with attributes (`class`, `text`, `testid` are shorthands) and children. */
export function h(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  applyProps(node, props);
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

/** An SVG element with attributes. */
export function s(tag, props = {}, children = []) {
  const node = document.createElementNS(SVG_NS, tag);
  applyProps(node, props);
  for (const child of children) node.append(child);
  return node;
}

/** Set text only when it changed, so unchanged nodes are not touched. */
export function setText(node, text) {
  const value = String(text ?? "");
  if (node.textContent !== value) node.textContent = value;
}

/** Set (or with null, remove) an attribute only when it changed. */
export function setAttr(node, name, value) {
  if (value === null || value === undefined || value === false) {
    if (node.hasAttribute(name)) node.removeAttribute(name);
    return;
  }
  const text = value === true ? "" : String(value);
  if (node.getAttribute(name) !== text) node.setAttribute(name, text);
}

export function show(node, visible) {
  if (node.hidden === visible) node.hidden = !visible;
}

export function toggleClass(node, name, on) {
  if (node.classList.contains(name) !== Boolean(on)) node.classList.toggle(name, Boolean(on));
}

/** Add a listener that goes away when `signal` aborts (the widget's cleanup). */
export function listen(node, type, handler, signal) {
  node.addEventListener(type, handler, { signal });
}

/** A button that runs `onClick`; its listener ends with `signal`. */
export function button(props, onClick, signal) {
  const node = h("button", { type: "button", ...props });
  listen(node, "click", onClick, signal);
  return node;
}

/**
 * Keep `parent`'s children in step with `items`, reusing the node made for each key:
 * `create(item)` makes an entry `{el, ...}` once per key, `update(entry, item)` refreshes it.
 * Entries for keys no longer present are removed. `cache` is a Map owned by the caller.
 */
export function reconcile(parent, cache, items, keyOf, create, update) {
  const seen = new Set();
  /** @type {Node | null} */
  let previous = null;
  for (const item of items) {
    const key = keyOf(item);
    seen.add(key);
    let entry = cache.get(key);
    if (entry === undefined) {
      entry = create(item);
      cache.set(key, entry);
    }
    update(entry, item);
    const expected = previous ? previous.nextSibling : parent.firstChild;
    if (entry.el !== expected) parent.insertBefore(entry.el, expected);
    previous = entry.el;
  }
  for (const [key, entry] of cache) {
    if (!seen.has(key)) {
      entry.el.remove();
      cache.delete(key);
    }
  }
}

/** An inline confirmation row: a question and buttons; hidden until `open()`. */
export function inlineConfirm({ testid, actions, signal }) {
  const question = h("span", { class: "dltrack-confirm-question" });
  const buttons = actions.map((a) =>
    button({ class: `dltrack-btn ${a.class ?? ""}`.trim(), testid: a.testid, text: a.label, title: a.title }, a.onClick, signal),
  );
  const el = h("div", { class: "dltrack-confirm", role: "group", testid, hidden: true }, [question, ...buttons]);
  return {
    el,
    set(open, text) {
      show(el, open);
      if (open) setText(question, text);
    },
    focusFirst() {
      buttons[0]?.focus?.();
    },
    /** Move the focus `by` buttons along (wrapping), for arrow keys. */
    focusNext(by) {
      const at = buttons.indexOf(/** @type {HTMLButtonElement} */ (globalThis.document?.activeElement));
      buttons[(at + by + buttons.length) % buttons.length]?.focus?.();
    },
  };
}
