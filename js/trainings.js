// The trainings list (history): one row per training, newest first, and the export of the
// shown ones. Rows are keyed by training id and only rewritten when what they show changed.
import { button, h, listen, reconcile, setAttr, setText, show, toggleClass } from "./dom.js";
import { download, exportFileName, trainingsCsv, trainingsJson } from "./exporting.js";
import { formatAbsolute, formatDuration, formatMetric, formatRelative } from "./format.js";
import { mainMetric, summaryLogs } from "./metrics.js";
import { trainingLabel } from "./state.js";
import { endNote } from "./stopview.js";

const COLUMNS = ["", "#", "Status", "Started", "Duration", "Epochs", "loss", "metric", "Notes"];

/** Seconds the training has run: to its end, its last sign of life, or now. */
export function trainingDuration(training, kernelNow) {
  if (!training.started_at) return null;
  const end =
    training.ended_at ?? (training.status === "running" ? kernelNow : training.last_seen ?? kernelNow);
  return Math.max(0, end - training.started_at);
}

function metricCell(logs, name) {
  if (!name || !Object.hasOwn(logs, name)) return "";
  const val = `val_${name}`;
  const twin = Object.hasOwn(logs, val) ? ` / val ${formatMetric(logs[val])}` : "";
  return `${formatMetric(logs[name])}${twin}`;
}

/** The texts of one row, in column order after the checkbox. */
function rowTexts(training, kernelNow, main) {
  const logs = summaryLogs(training);
  const planned = training.epochs_planned ?? "?";
  return [
    trainingLabel(training),
    training.status,
    formatRelative(training.started_at, kernelNow),
    formatDuration(trainingDuration(training, kernelNow)),
    `${training.epochs_done} / ${planned}`,
    metricCell(logs, "loss"),
    metricCell(logs, main),
    endNote(training),
  ];
}

function createRow(ctx, training) {
  const { ui, signal } = ctx;
  const id = training.training_id;
  const checkbox = h("input", { type: "checkbox", class: "dltrack-compare", testid: "compare-checkbox" });
  const cells = COLUMNS.slice(1).map((_, i) => h("td", { class: i >= 5 ? "dltrack-cell-wrap" : null }));
  const pill = h("span", { class: "dltrack-pill" });
  cells[1].append(pill);
  const el = h("tr", { testid: "training-row", tabindex: 0 }, [h("td", { class: "dltrack-cell-check" }, [checkbox]), ...cells]);
  const select = () => {
    ui.selectedId = id;
    ctx.saveUi();
    ctx.refresh();
  };
  listen(checkbox, "click", (event) => event.stopPropagation(), signal);
  listen(checkbox, "change", () => {
    if (checkbox.checked) ui.compare.add(id);
    else ui.compare.delete(id);
    ctx.saveUi();
    ctx.refresh();
  }, signal);
  listen(el, "click", select, signal);
  listen(el, "keydown", (event) => {
    if (event.target !== el || (event.key !== "Enter" && event.key !== " ")) return;
    event.preventDefault();
    select();
  }, signal);
  return { el, checkbox, cells, pill, signature: "" };
}

function updateRow(row, training, { kernelNow, main, selected, compared }) {
  const texts = rowTexts(training, kernelNow, main);
  const signature = `${texts.join("\u0001")}|${selected}|${compared}`;
  if (row.signature === signature) return;
  row.signature = signature;
  setAttr(row.el, "data-number", training.number);
  setAttr(row.el, "data-status", training.status);
  setAttr(row.el, "data-training-id", training.training_id);
  setAttr(row.el, "aria-selected", String(selected));
  toggleClass(row.el, "dltrack-selected", selected);
  setAttr(row.checkbox, "aria-label", `Compare training ${trainingLabel(training)}`);
  if (row.checkbox.checked !== compared) row.checkbox.checked = compared;
  texts.forEach((text, i) => {
    if (i === 1) {
      setText(row.pill, text);
      setAttr(row.pill, "class", `dltrack-pill dltrack-status-${text}`);
    } else {
      setText(row.cells[i], text);
    }
  });
  setAttr(row.cells[2], "title", formatAbsolute(training.started_at));
  setAttr(row.cells[7], "title", texts[7] || null);
}

export function createTrainingsTable(ctx) {
  const heads = COLUMNS.map((label) => h("th", { scope: "col", text: label }));
  const body = h("tbody");
  const table = h("table", { class: "dltrack-table dltrack-trainings", testid: "trainings-table" }, [
    h("thead", {}, [h("tr", {}, heads)]),
    body,
  ]);
  const count = h("span", { class: "dltrack-count" });
  const empty = h("p", { class: "dltrack-empty", text: "No trainings yet for this model.", hidden: true });
  const exportAs = (kind) => {
    const shown = ctx.exportTrainings();
    const name = ctx.snapshot().model?.name;
    if (kind === "csv") download(trainingsCsv(shown), exportFileName(name, "csv"), "text/csv");
    else download(trainingsJson(shown), exportFileName(name, "json"), "application/json");
  };
  const exportCsv = button({ class: "dltrack-btn", testid: "export-csv", text: "⤓ CSV" }, () => exportAs("csv"), ctx.signal);
  const exportJson = button({ class: "dltrack-btn", testid: "export-json", text: "⤓ JSON" }, () => exportAs("json"), ctx.signal);
  const toolbar = h("div", { class: "dltrack-toolbar" }, [count, h("span", { class: "dltrack-spacer" }), exportCsv, exportJson]);
  const el = h("section", { class: "dltrack-history" }, [toolbar, h("div", { class: "dltrack-scroll" }, [table]), empty]);
  const rows = new Map();

  function update(view, selectedId) {
    const { trainings } = view.snap;
    const names = trainings.flatMap((t) => Object.keys(summaryLogs(t)));
    const main = mainMetric(names);
    setText(heads[7], main ?? "");
    const exported = ctx.exportTrainings().length;
    setText(count, `${trainings.length} training${trainings.length === 1 ? "" : "s"}`);
    for (const b of [exportCsv, exportJson]) {
      b.disabled = exported === 0;
      setAttr(b, "title", `Download ${exported === trainings.length ? "every training" : `the ${exported} compared trainings`} (one row per epoch)`);
    }
    show(table, trainings.length > 0);
    show(empty, trainings.length === 0);
    const { compare } = ctx.ui;
    reconcile(body, rows, trainings, (t) => t.training_id, (t) => createRow(ctx, t), (row, t) =>
      updateRow(row, t, {
        kernelNow: view.kernelNow,
        main,
        selected: t.training_id === selectedId,
        compared: compare.has(t.training_id),
      }),
    );
  }
  return { el, update };
}
