// Export of the shown trainings as CSV or JSON, the same rows as `dltrack.history()` and
// `dltrack trainings list KEY --csv`: one row per epoch, `epoch` 0-based as in the store.
import { orderMetrics } from "./metrics.js";

/** @param {unknown} value */
function csvCell(value) {
  if (value === null || value === undefined) return "";
  const text = typeof value === "number" ? String(value) : String(value);
  // RFC 4180: quote a cell holding a comma, quote or line break; double its quotes.
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * CSV text: columns training, training_id, status, epoch, then every metric in display order.
 * @param {import("./types.js").Training[]} trainings
 */
export function trainingsCsv(trainings) {
  const metrics = orderMetrics(trainings.flatMap((t) => t.epochs.flatMap((e) => Object.keys(e.logs ?? {}))));
  const columns = ["training", "training_id", "status", "epoch", ...metrics];
  const lines = [columns.map(csvCell).join(",")];
  for (const t of trainings) {
    for (const e of t.epochs) {
      const row = [t.number, t.training_id, t.status, e.epoch, ...metrics.map((m) => e.logs?.[m])];
      lines.push(row.map(csvCell).join(","));
    }
  }
  return `${lines.join("\n")}\n`;
}

/**
 * JSON text: per training its number, id, status, times, params, final logs and epochs.
 * @param {import("./types.js").Training[]} trainings
 */
export function trainingsJson(trainings) {
  const out = trainings.map((t) => ({
    training: t.number ?? null,
    training_id: t.training_id,
    status: t.status,
    started_at: t.started_at ?? null,
    ended_at: t.ended_at ?? null,
    params: t.params,
    final_logs: t.final_logs,
    epochs: t.epochs.map((e) => ({ epoch: e.epoch, logs: e.logs ?? {}, steps: e.steps ?? null })),
  }));
  return `${JSON.stringify(out, null, 2)}\n`;
}

/**
 * A file name safe on every OS: the model's name reduced to letters, digits, - and _.
 * @param {string | undefined} modelName
 * @param {string} extension
 */
export function exportFileName(modelName, extension) {
  const base = (modelName ?? "").replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60);
  return `${base || "dltrack"}-trainings.${extension}`;
}

/**
 * Hand `text` to the browser as a download (a Blob behind a temporary link).
 * @param {string} text
 * @param {string} fileName
 * @param {string} type
 */
export function download(text, fileName, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The click has started the download; the URL is no longer needed after this task.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
