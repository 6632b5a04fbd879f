// The details of the selected training: delete, charts (compare mode overlays the checked
// trainings), the batch-loss sparkline, the params table and the epoch table.
import { createCharts, createSparkline } from "./charts.js";
import { button, h, inlineConfirm, reconcile, setAttr, setText, show, toggleClass } from "./dom.js";
import { formatDuration, formatMetric, formatValue } from "./format.js";
import { epochSteps, plannedSteps } from "./steps.js";
import { metricGroups, metricNames } from "./metrics.js";
import { differingParams, paramNames } from "./params.js";
import { isLive, trainingLabel } from "./state.js";
import { trainingDuration } from "./trainings.js";

/** Epoch rows shown before "show all". */
const EPOCH_ROWS = 200;

function createParamsTable() {
  const el = h("table", { class: "dltrack-table dltrack-params", testid: "params-table" });
  /** @type {string | null} */
  let signature = null;
  function update(trainings) {
    const next = JSON.stringify(trainings.map((t) => [t.number, t.params]));
    if (next === signature) return;
    signature = next;
    const differ = differingParams(trainings);
    const head = h("tr", {}, [h("th", { scope: "col", text: "param" })]);
    for (const t of trainings) head.append(h("th", { scope: "col", text: trainingLabel(t) }));
    const body = h("tbody");
    for (const name of paramNames(trainings)) {
      const row = h("tr", { "data-param": name, class: differ.has(name) ? "dltrack-diff" : null }, [
        h("th", { scope: "row", text: name }),
      ]);
      for (const t of trainings) row.append(h("td", { text: formatValue(t.params[name]) }));
      body.append(row);
    }
    el.replaceChildren(h("thead", {}, [head]), body);
  }
  return { el, update };
}

function createEpochTable(ctx) {
  const { ui, signal } = ctx;
  const headRow = h("tr");
  const body = h("tbody");
  const table = h("table", { class: "dltrack-table dltrack-epochs", testid: "epoch-table" }, [h("thead", {}, [headRow]), body]);
  const toggle = button({ class: "dltrack-btn dltrack-btn-quiet", testid: "epoch-table-toggle", hidden: true }, () => {
    ui.showAllEpochs = !ui.showAllEpochs;
    ctx.refresh();
  }, signal);
  const el = h("div", { class: "dltrack-epoch-table" }, [toggle, h("div", { class: "dltrack-scroll dltrack-scroll-tall" }, [table])]);
  const rows = new Map();
  /** @type {string | null} */
  let columns = null;

  function update(training, names) {
    const stepsPlanned = plannedSteps(training);
    const nextColumns = `${training.training_id}|${names.join("\u0001")}`;
    if (nextColumns !== columns) {
      columns = nextColumns;
      headRow.replaceChildren(...["epoch", "duration", ...names].map((n) => h("th", { scope: "col", text: n })));
      body.replaceChildren();
      rows.clear();
    }
    const epochs = training.epochs;
    const hidden = ui.showAllEpochs ? 0 : Math.max(0, epochs.length - EPOCH_ROWS);
    show(toggle, epochs.length > EPOCH_ROWS);
    setText(toggle, ui.showAllEpochs ? `show the last ${EPOCH_ROWS} epochs` : `show all ${epochs.length} epochs (${hidden} hidden)`);
    reconcile(body, rows, epochs.slice(hidden), (e) => e.epoch, () => ({ el: h("tr"), signature: "" }), (row, e) => {
      const signature = `${stepsPlanned}|${JSON.stringify(e)}`;
      if (row.signature === signature) return;
      row.signature = signature;
      const took = e.ended_at && e.started_at ? formatDuration(e.ended_at - e.started_at) : "";
      const { partial } = epochSteps(e.steps, stepsPlanned);
      setAttr(row.el, "data-epoch", e.epoch + 1);
      setAttr(row.el, "data-partial", partial ? "true" : null);
      row.el.replaceChildren(
        partial
          ? h("td", { text: `${e.epoch + 1} (partial)`, title: `stopped after ${e.steps} of ${stepsPlanned} steps` })
          : h("td", { text: e.epoch + 1 }),
        h("td", { text: took }),
        ...names.map((n) => h("td", { text: formatMetric(e.logs?.[n]) })),
      );
    });
  }
  return { el, update };
}

export function createDetails(ctx) {
  const { ui, signal } = ctx;
  /** @type {import("./types.js").Training | null} */
  let training = null;
  const title = h("h3", { class: "dltrack-section-title" });
  const pill = h("span", { class: "dltrack-pill" });
  const summary = h("span", { class: "dltrack-live-meta" });
  const deleteButton = button({ class: "dltrack-btn dltrack-btn-quiet dltrack-btn-danger-text", testid: "delete-training", text: "Delete training" }, () => {
    ui.deleteConfirm = training?.training_id ?? null;
    ctx.refresh();
  }, signal);
  const confirm = inlineConfirm({
    testid: "delete-training-confirm",
    signal,
    actions: [
      {
        label: "Delete",
        testid: "confirm-delete",
        class: "dltrack-btn-danger",
        onClick: () => {
          if (!training) return;
          ctx.send({ action: "delete_training", training_id: training.training_id });
          ui.deleting.add(training.training_id);
          ui.deleteConfirm = null;
          ctx.refresh();
        },
      },
      { label: "Cancel", testid: "cancel-delete", onClick: () => { ui.deleteConfirm = null; ctx.refresh(); } },
    ],
  });
  const compareNote = h("span", { class: "dltrack-compare-note" });
  const clearCompare = button({ class: "dltrack-btn dltrack-btn-quiet", testid: "clear-compare", text: "clear comparison" }, () => {
    ui.compare.clear();
    ctx.refresh();
  }, signal);
  const compareBar = h("div", { class: "dltrack-compare-bar", hidden: true }, [compareNote, clearCompare]);
  const charts = createCharts();
  const sparkline = createSparkline();
  const params = createParamsTable();
  const epochs = createEpochTable(ctx);
  const el = h("section", { class: "dltrack-details", testid: "details", hidden: true }, [
    h("div", { class: "dltrack-details-head" }, [title, pill, summary, deleteButton]),
    confirm.el,
    compareBar,
    charts.el,
    sparkline.el,
    h("h4", { class: "dltrack-subtitle", text: "Parameters" }),
    params.el,
    h("h4", { class: "dltrack-subtitle", text: "Epochs" }),
    epochs.el,
  ]);

  function update(view, selected) {
    training = selected;
    show(el, Boolean(selected));
    if (!selected) return;
    const { trainings } = view.snap;
    setAttr(el, "data-training-id", selected.training_id);
    setText(title, `Training ${trainingLabel(selected)}`);
    setText(pill, selected.status);
    setAttr(pill, "class", `dltrack-pill dltrack-status-${selected.status}`);
    const deleting = ui.deleting.has(selected.training_id);
    setText(summary, deleting ? "delete requested…" : `${selected.epochs_done} epoch${selected.epochs_done === 1 ? "" : "s"} · ${formatDuration(trainingDuration(selected, view.kernelNow))}`);
    const live = isLive(selected);
    show(deleteButton, !deleting);
    deleteButton.disabled = live;
    setAttr(deleteButton, "title", live ? "Stop the training before deleting it" : null);
    const epochCount = selected.epochs.length;
    confirm.set(
      ui.deleteConfirm === selected.training_id && !live,
      `Delete training ${trainingLabel(selected)} and its ${epochCount} epoch${epochCount === 1 ? "" : "s"}? This cannot be undone.`,
    );

    // Compare mode: the checked trainings drawn over the selected one, newest first.
    const compared = trainings.filter((t) => t === selected || ui.compare.has(t.training_id));
    const comparing = compared.length > 1;
    show(compareBar, comparing);
    toggleClass(el, "dltrack-comparing", comparing);
    if (comparing) {
      setText(compareNote, `Comparing ${compared.map(trainingLabel).join(", ")} — parameters that differ are highlighted`);
    }
    charts.update(metricGroups(metricNames(compared)), compared, comparing);
    sparkline.update(live ? selected : null);
    params.update(compared);
    epochs.update(selected, metricNames([selected]));
  }
  return { el, update };
}
