// Header: model name and short model id, the connection badge (and the store's state when it
// is not working), a menu with Rename and Delete model; the error panel.
import { button, h, inlineConfirm, listen, setAttr, setText, show } from "./dom.js";
import { createMenu } from "./menu.js";

const KEY_SHOWN = 8;

function connectionText({ status, detail, broker }) {
  const where = detail || broker;
  return where ? `${status} · ${where}` : status;
}

// How history reaches the viewer when all is well (docs/widget-state.md); `connecting` is
// every viewer's first moment. Anything else is worth a word in the header.
const STORE_OK = new Set(["connecting", "polling", "following"]);

export function createHeader(ctx) {
  const { ui, signal } = ctx;
  const name = h("span", { class: "dltrack-model-name", testid: "model-name" });
  const key = h("code", { class: "dltrack-model-key", testid: "model-key" });
  const connection = h("span", { class: "dltrack-connection", testid: "connection", role: "status" });
  const storeStatus = h("span", { class: "dltrack-store-status", testid: "store-status", role: "status", hidden: true });

  const renameInput = h("input", {
    class: "dltrack-input",
    type: "text",
    testid: "rename-input",
    "aria-label": "New model name",
    maxlength: 200,
  });
  const saveRename = () => {
    const next = renameInput.value.trim();
    if (next && next !== ctx.snapshot().model?.name) ctx.send({ action: "rename_model", name: next });
    ui.renaming = false;
    ctx.refresh();
  };
  const cancelRename = () => {
    ui.renaming = false;
    ctx.refresh();
  };
  listen(renameInput, "keydown", (event) => {
    if (event.key === "Enter") saveRename();
    if (event.key === "Escape") cancelRename();
  }, signal);
  const renameForm = h("span", { class: "dltrack-rename", hidden: true }, [
    renameInput,
    button({ class: "dltrack-btn", testid: "rename-save", text: "Save" }, saveRename, signal),
    button({ class: "dltrack-btn dltrack-btn-quiet", text: "Cancel" }, cancelRename, signal),
  ]);
  const startRename = () => {
    ui.renaming = true;
    ctx.refresh();
    renameInput.value = ctx.snapshot().model?.name ?? "";
    renameInput.focus();
    renameInput.select?.();
  };
  const menu = createMenu({
    testid: "model-menu",
    label: "Model actions",
    signal,
    items: [
      { label: "Rename model…", testid: "rename-model", onClick: startRename },
      {
        label: "Delete model…",
        testid: "delete-model",
        danger: true,
        onClick: () => {
          ui.deleteModelConfirm = true;
          ctx.refresh();
        },
      },
    ],
  });
  const deleteConfirm = inlineConfirm({
    testid: "delete-model-confirm",
    signal,
    actions: [
      {
        label: "Delete model",
        testid: "confirm-delete-model",
        class: "dltrack-btn-danger",
        onClick: () => {
          ctx.send({ action: "delete_model" });
          ui.deleteModelConfirm = false;
          ui.deleteModelSent = true;
          ctx.refresh();
        },
      },
      {
        label: "Cancel",
        testid: "cancel-delete-model",
        onClick: () => {
          ui.deleteModelConfirm = false;
          ctx.refresh();
        },
      },
    ],
  });
  const notice = h("div", { class: "dltrack-notice", role: "status", hidden: true });
  const title = h("span", { class: "dltrack-title" }, [name, key]);
  const actions = h("span", { class: "dltrack-header-actions" }, [menu.el]);
  const el = h("header", { class: "dltrack-header" }, [
    // Read-only viewers (`dltrack serve` without --allow-control) get no model actions.
    h("div", { class: "dltrack-header-row" }, ctx.readOnly ? [title, storeStatus, connection] : [title, renameForm, storeStatus, connection, actions]),
    deleteConfirm.el,
    notice,
  ]);
  const error = h("div", { class: "dltrack-error", testid: "error", role: "alert", hidden: true });

  function update(view) {
    const { model, connection: conn, error: message, trainings } = view.snap;
    setText(name, model ? model.name || "(unnamed model)" : "dltrack");
    // The public model id: the key itself never reaches the front end (docs/security.md).
    const fullKey = model?.id ?? "";
    setText(key, fullKey.length > KEY_SHOWN ? `${fullKey.slice(0, KEY_SHOWN)}…` : fullKey);
    setAttr(key, "title", fullKey || null);
    show(key, Boolean(fullKey));

    setText(connection, connectionText(conn));
    setAttr(connection, "data-status", conn.status);
    const where = [conn.broker && `broker: ${conn.broker}`, conn.store && `store: ${conn.store}`];
    setAttr(connection, "title", where.filter(Boolean).join("\n") || null);
    const storeTrouble = !STORE_OK.has(conn.store_status);
    show(storeStatus, storeTrouble);
    setText(storeStatus, storeTrouble ? `store: ${conn.store_status}` : "");
    setAttr(storeStatus, "title", storeTrouble && conn.store_detail ? conn.store_detail : null);

    const hasModel = Boolean(model) && !message;
    show(title, !ui.renaming);
    show(renameForm, ui.renaming && hasModel);
    show(actions, hasModel && !ui.renaming);
    const count = trainings.length;
    deleteConfirm.set(
      ui.deleteModelConfirm && hasModel,
      `Delete model “${model?.name ?? ""}” and all its ${count} training${count === 1 ? "" : "s"}? ` +
        "This cannot be undone.",
    );
    show(notice, Boolean(ui.deleteModelSent) && hasModel);
    setText(notice, "delete requested…");

    show(error, Boolean(message));
    setText(error, message ? `⚠ ${message}` : "");
  }

  return { el, error, update };
}
