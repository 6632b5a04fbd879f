// A uPlot plugin that draws a training's events (events.js, eventMarks) as vertical lines over
// a chart. DOM elements in uPlot's overlay (`u.over`) rather than canvas strokes, so each can
// carry its names as a tooltip (`title`) and report hovering, which the chart's caption shows;
// placed with `u.valToPos` in the draw hook, which uPlot runs after every redraw, zoom and
// resize. Names are set as text attributes only, never as markup.

/**
 * @param {() => {key: string, x: number, kinds: string[], ok: boolean, label: string}[]} getMarks
 * @param {(label: string | null) => void} onHover
 * @returns {any} a uPlot plugin
 */
export function eventMarkersPlugin(getMarks, onHover) {
  const nodes = new Map();

  function draw(u) {
    const keep = new Set();
    const width = parseFloat(u.over.style.width);
    for (const mark of getMarks()) {
      keep.add(mark.key);
      let node = nodes.get(mark.key);
      if (!node) {
        node = document.createElement("span");
        node.className = "dltrack-event-marker";
        node.setAttribute("data-testid", "event-marker");
        const label = () => node.getAttribute("title");
        node.addEventListener("mouseenter", () => onHover(label()));
        node.addEventListener("mouseleave", () => onHover(null));
        u.over.append(node);
        nodes.set(mark.key, node);
      }
      const left = u.valToPos(mark.x, "x");
      node.hidden = !(left >= 0 && left <= width);
      node.style.left = `${left}px`;
      node.title = mark.label;
      node.setAttribute("aria-label", mark.label);
      node.setAttribute("data-kinds", mark.kinds.join(" "));
      node.setAttribute("data-ok", String(mark.ok));
    }
    for (const [key, node] of nodes) {
      if (!keep.has(key)) {
        node.remove();
        nodes.delete(key);
      }
    }
  }

  return {
    hooks: {
      draw: [draw],
      // A rebuilt plot has a new overlay: the old nodes went with the old one.
      destroy: [() => nodes.clear()],
    },
  };
}
