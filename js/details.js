// What the tabs show of the selected training: its caption (with a menu holding Delete),
// the Charts tab (compare mode overlays the checked trainings), the Parameters tab.
import { createCharts } from "./charts.js";
import { button, h, inlineConfirm, setAttr, setText, show, toggleClass } from "./dom.js";
import { formatDuration, formatValue } from "./format.js";
import { createMenu } from "./menu.js";
import { metricGroups, metricNames } from "./metrics.js";
import { differingParams, paramRows, rowValue } from "./params.js";
import { isLive, trainingLabel } from "./state.js";
import { trainingDuration } from "./trainings.js";

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
    for (const row of paramRows(trainings)) {
      const tr = h("tr", { "data-param": row.name, class: differ.has(row.name) ? "dltrack-diff" : null }, [
        h("th", { scope: "row", text: row.label, title: row.aliases.length ? `${row.aliases.join(", ")}: your name for Keras' ${row.name}` : null }),
      ]);
      for (const t of trainings) tr.append(h("td", { text: formatValue(rowValue(t, row)) }));
      body.append(tr);
    }
    el.replaceChildren(h("thead", {}, [head]), body);
  }
  return { el, update };
}

/** The trainings the tabs show: the selected one and the checked ones, newest first. */
export function comparedTrainings(trainings, selected, compare) {
  return trainings.filter((t) => t === selected || compare.has(t.training_id));
}

export function createDetails(ctx) {
  const { ui, signal } = ctx;
  /** @type {import("./types.js").Training | null} */
  let training = null;
  const title = h("span", { class: "dltrack-details-title" });
  const pill = h("span", { class: "dltrack-pill" });
  const summary = h("span", { class: "dltrack-live-meta" });
  const menu = createMenu({
    testid: "training-menu",
    label: "Training actions",
    signal,
    items: [
      {
        label: "Delete training…",
        testid: "delete-training",
        danger: true,
        onClick: () => {
          ui.deleteConfirm = training?.training_id ?? null;
          ctx.refresh();
        },
      },
    ],
  });
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
  const caption = h("div", { class: "dltrack-details", testid: "details", hidden: true }, [
    h("div", { class: "dltrack-details-head" }, [title, pill, summary, ctx.readOnly ? null : menu.el]),
  ]);

  const compareNote = h("span", { class: "dltrack-compare-note" });
  const clearCompare = button({ class: "dltrack-btn dltrack-btn-quiet", testid: "clear-compare", text: "clear comparison" }, () => {
    ui.compare.clear();
    ctx.saveUi();
    ctx.refresh();
  }, signal);
  const compareBar = h("div", { class: "dltrack-compare-bar", hidden: true }, [compareNote, clearCompare]);
  const charts = createCharts({ prefs: ctx.prefs, refresh: ctx.refresh, signal });
  // The Charts tab: the charts fill this container (it takes the full width); the loss chart
  // holds the per-batch loss.
  const chartsTab = h("div", { class: "dltrack-charts-tab", testid: "charts-tab" }, [charts.el]);
  const params = createParamsTable();
  const paramsTab = h("div", { class: "dltrack-scroll" }, [params.el]);

  function update(view, selected) {
    training = selected;
    show(caption, Boolean(selected));
    if (!selected) {
      confirm.set(false, "");
      return;
    }
    const { trainings } = view.snap;
    setAttr(caption, "data-training-id", selected.training_id);
    setText(title, `Training ${trainingLabel(selected)}`);
    setText(pill, selected.status);
    setAttr(pill, "class", `dltrack-pill dltrack-status-${selected.status}`);
    const deleting = ui.deleting.has(selected.training_id);
    setText(summary, deleting ? "delete requested…" : `${selected.epochs_done} epoch${selected.epochs_done === 1 ? "" : "s"} · ${formatDuration(trainingDuration(selected, view.kernelNow))}`);
    const live = isLive(selected);
    menu.setItem("delete-training", {
      visible: !deleting,
      disabled: live,
      title: live ? "Stop the training before deleting it" : null,
    });
    const epochCount = selected.epochs.length;
    confirm.set(
      ui.deleteConfirm === selected.training_id && !live,
      `Delete training ${trainingLabel(selected)} and its ${epochCount} epoch${epochCount === 1 ? "" : "s"}? This cannot be undone.`,
    );

    const compared = comparedTrainings(trainings, selected, ui.compare);
    const comparing = compared.length > 1;
    show(compareBar, comparing);
    toggleClass(chartsTab, "dltrack-comparing", comparing);
    if (comparing) {
      setText(compareNote, `Comparing ${compared.map(trainingLabel).join(", ")} — parameters that differ are highlighted`);
    }
    charts.update(metricGroups(metricNames(compared)), compared, comparing);
    params.update(compared);
  }
  return { caption, confirm: confirm.el, compareBar, chartsTab, paramsTab, update };
}
