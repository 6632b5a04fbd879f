// The Epochs tab: the selected training's epoch bars, then its epoch table.
import { createEpochBars } from "./bars.js";
import { button, h, reconcile, setAttr, setText, show } from "./dom.js";
import { formatDuration, formatMetric } from "./format.js";
import { metricNames } from "./metrics.js";
import { epochSteps, plannedSteps } from "./steps.js";

/** Epoch rows shown before "show all". */
const EPOCH_ROWS = 200;

function createEpochTable(ctx) {
  const { ui, signal } = ctx;
  const headRow = h("tr");
  const body = h("tbody");
  const table = h("table", { class: "dltrack-table dltrack-epochs", testid: "epoch-table" }, [h("thead", {}, [headRow]), body]);
  const toggle = button({ class: "dltrack-btn dltrack-btn-quiet", testid: "epoch-table-toggle", hidden: true }, () => {
    ui.showAllEpochs = !ui.showAllEpochs;
    ctx.refresh();
  }, signal);
  const el = h("div", { class: "dltrack-epoch-table" }, [toggle, h("div", { class: "dltrack-scroll" }, [table])]);
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

export function createEpochsTab(ctx) {
  const bars = createEpochBars(ctx);
  const table = createEpochTable(ctx);
  const empty = h("p", { class: "dltrack-empty", text: "No training selected.", hidden: true });
  const el = h("div", { class: "dltrack-epochs-tab" }, [bars.el, h("h4", { class: "dltrack-subtitle", text: "Epoch table" }), table.el, empty]);
  function update(view, selected) {
    show(empty, !selected);
    for (const child of [...el.children]) if (child !== empty) show(/** @type {HTMLElement} */ (child), Boolean(selected));
    if (!selected) return;
    bars.update(selected, view);
    table.update(selected, metricNames([selected]));
  }
  return { el, update };
}
