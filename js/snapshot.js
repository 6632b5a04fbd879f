// The output's static snapshot: the kernel also writes an HTML rendering of the last state
// into the same cell's outputs (dltrack_widget/static_view.py) so that a notebook reopened
// without its kernel, nbviewer or GitHub show the last state. A live view hides it.

/** The attribute marking the static snapshot's root element. */
export const STATIC_ATTR = "data-dltrack-static";

/**
 * Hide the static snapshots in the output area holding `el` (JupyterLab and Notebook 7 wrap
 * each output in `.jp-OutputArea-child`; elsewhere only the snapshot's own element).
 * @param {HTMLElement} el
 */
export function hideStaticSnapshots(el) {
  const area = el.closest?.(".jp-OutputArea, .output_area, .output");
  if (!area) return;
  for (const node of area.querySelectorAll(`[${STATIC_ATTR}]`)) {
    const holder = node.closest(".jp-OutputArea-child") ?? node;
    /** @type {HTMLElement} */ (holder).style.display = "none";
  }
}
