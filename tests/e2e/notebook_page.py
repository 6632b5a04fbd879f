"""Driving a notebook in JupyterLab or Notebook 7 the way a person does: open it, run a cell
with the keyboard, press ■, pick a theme from the menu; and reading the dltrack widget.

Both apps share JupyterLab's notebook widget, so one set of selectors serves both. Waits go
through Playwright's auto-waiting `expect`, with generous timeouts for a loaded 2-core machine.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

# Generous: Jupyter and TensorFlow start slowly on a busy CI machine; nothing here is timed.
UI_TIMEOUT_MS = 60_000
TRAINING_TIMEOUT_MS = 180_000

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

# Phases of `[data-testid=stop-status]` (js/stop.js) once the training has answered.
ANSWERED = ("acknowledged", "stopped")


class NotebookPage:
    def __init__(self, page: Page, name: str) -> None:
        self.page = page
        self.name = name  # prefix of this test's screenshots
        self.servers: set[Any] = set()  # where it opened notebooks: their kernels go at the end

    # -- the notebook ------------------------------------------------------------------------

    def open(self, url: str, kernel_ready: Callable[[], bool]) -> NotebookPage:
        """Go to `url` and wait until the notebook shows and its kernel is connected and idle
        (`kernel_ready` asks the server: the indicator alone can read "idle" before the kernel
        even started)."""
        self.page.goto(url)
        expect(self.cell(0)).to_be_visible(timeout=UI_TIMEOUT_MS)
        deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
        while not kernel_ready():
            # JupyterLab asks for a kernel when it opened the notebook before it had read the
            # kernelspecs; the right one is preselected.
            dialog = self.page.locator(".jp-Dialog", has_text="Select Kernel")
            if dialog.count() and dialog.is_visible():
                dialog.locator(".jp-mod-accept").click()
            if time.monotonic() > deadline:
                raise AssertionError("the notebook's kernel did not start and connect")
            self.page.wait_for_timeout(250)
        self.wait_kernel_idle()
        return self

    def cell(self, index: int) -> Locator:
        return self.page.locator(".jp-Notebook:visible .jp-Cell").nth(index)

    def prompt(self, index: int) -> Locator:
        return self.cell(index).locator(".jp-InputArea-prompt")

    def output(self, index: int) -> Locator:
        return self.cell(index).locator(".jp-OutputArea")

    def kernel_status(self) -> Locator:
        # JupyterLab clones toolbar items into an overflow menu on narrow toolbars.
        return self.page.locator(".jp-Notebook-ExecutionIndicator").first

    def wait_kernel_idle(self, timeout: int = UI_TIMEOUT_MS) -> None:
        expect(self.kernel_status()).to_have_attribute("data-status", "idle", timeout=timeout)

    def run_cell(self, index: int) -> None:
        """Select the cell (command mode, by its prompt) and press Ctrl+Enter."""
        self.prompt(index).click()
        self.page.keyboard.press("Control+Enter")
        expect(self.prompt(index)).to_have_text(re.compile(r"\[(\*|\d+)\]"), timeout=UI_TIMEOUT_MS)

    def wait_cell_done(self, index: int, timeout: int = UI_TIMEOUT_MS) -> None:
        expect(self.prompt(index)).to_have_text(re.compile(r"\[\d+\]"), timeout=timeout)

    def interrupt_kernel(self) -> None:
        """The toolbar's ■ (Interrupt the kernel)."""
        self.page.locator('[data-command="notebook:interrupt-kernel"]').first.click()

    def use_theme(self, theme: str) -> None:
        """Settings → Theme → `theme`, through the menu bar."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Settings$")).click()
        self.menu_item("Theme").hover()
        self.menu_item(theme).click()

    def menu_item(self, label: str) -> Locator:
        exact = re.compile(f"^{re.escape(label)}$")
        return self.page.locator(".lm-Menu-item:visible").filter(
            has=self.page.locator(".lm-Menu-itemLabel", has_text=exact)
        )

    # -- the widget --------------------------------------------------------------------------

    def monitor(self, cell: int = 0) -> Locator:
        return self.cell(cell).locator(".dltrack-monitor")

    def by_testid(self, testid: str, cell: int = 0) -> Locator:
        return self.monitor(cell).locator(f'[data-testid="{testid}"]')

    def open_tab(self, tab: str, cell: int = 0) -> Locator:
        """Click one of the monitor's tabs (epochs, charts, trainings, params); its panel."""
        self.by_testid(f"tab-{tab}", cell).click()
        panel = self.by_testid(f"panel-{tab}", cell)
        expect(panel).to_be_visible()
        return panel

    def save(self, saved: Callable[[], bool]) -> None:
        """Ctrl+S in command mode, as a person saves; waits until `saved()` (e.g. the file
        on disk holds the output) says the save happened."""
        self.prompt(0).click()
        self.page.keyboard.press("Escape")
        self.page.keyboard.press("Control+s")
        deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
        while not saved():
            if time.monotonic() > deadline:
                raise AssertionError("the notebook was not saved")
            self.page.wait_for_timeout(250)

    def wait_bars_advance(self, cell: int = 0) -> tuple[int, int]:
        """The current epoch's bar is drawn and moves: a later (epoch, step) than first seen."""
        bar = self.monitor(cell).locator('[data-testid="epoch-bar"][data-state="current"]').last
        expect(bar).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
        expect(bar).to_contain_text(re.compile(r"\d+/\d+"), timeout=UI_TIMEOUT_MS)

        def position() -> tuple[int, int]:
            # Read in one go: the bar may be redrawn (or become a finished one) in between.
            epoch, text = bar.evaluate("b => [b.getAttribute('data-epoch'), b.textContent]")
            step = re.search(r"(\d+)/\d+", text or "")
            return int(epoch or 0), int(step.group(1)) if step else 0

        first = position()
        deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
        while (now := position()) <= first:
            if time.monotonic() > deadline:
                raise AssertionError(f"the bars did not move from epoch/step {first}")
            self.page.wait_for_timeout(100)
        return now

    def watch_stop_timing(self, cell: int = 0) -> None:
        """Record, in the page, when Stop now is clicked and when the stop status changes
        phase (read back by `stop_timing`). Browser clock, so it is the latency a person
        sees, including the frame that draws the answer."""
        self.monitor(cell).evaluate(
            """root => {
              const t = (window.__dltrackStop = { phases: {} });
              root.addEventListener('click', e => {
                if (e.target.closest('[data-testid="stop-now"]')) t.click = performance.now();
              }, true);
              new MutationObserver(() => {
                for (const el of root.querySelectorAll('[data-testid="stop-status"]')) {
                  const phase = el.getAttribute('data-phase');
                  if (phase && !(phase in t.phases)) t.phases[phase] = performance.now();
                }
              }).observe(root, {subtree: true, attributes: true, attributeFilter: ['data-phase']});
            }"""
        )

    def stop_timing(self) -> dict[str, Any]:
        """{"requested_ms", "answered_ms"}: from the click to the first drawing of each."""
        raw = self.page.evaluate("() => window.__dltrackStop")
        click, phases = raw.get("click"), raw.get("phases", {})
        answered = [phases[p] for p in ANSWERED if p in phases]

        def since_click(at: float | None) -> float | None:
            return None if at is None or click is None else round(at - click, 1)

        return {
            "requested_ms": since_click(phases.get("requested")),
            "answered_ms": since_click(min(answered) if answered else None),
            "phases_seen": sorted(phases, key=phases.get),
        }

    def stop_now(self, cell: int = 0) -> Locator:
        """Stop → Stop now on the (only) live training; the stop status element."""
        self.by_testid("stop-button", cell).click()
        self.by_testid("stop-now", cell).click()
        return self.by_testid("stop-status", cell)

    # -- screenshots -------------------------------------------------------------------------

    def shoot(self, state: str, cell: int = 0, whole_notebook: bool = False) -> None:
        """The page and the widget alone, as test-artifacts/screenshots/NAME-STATE[-widget].png;
        `whole_notebook`: the page as tall as the notebook (e.g. the widget and the cell below)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        if whole_notebook:
            cells = self.page.locator(".jp-Notebook:visible .jp-Cell")
            top = cells.first.evaluate("e => e.getBoundingClientRect().top")
            bottom = cells.last.evaluate("e => e.getBoundingClientRect().bottom")
            with self._window_height(int(bottom - top) + 250):  # + menus, toolbar, status bar
                self.page.screenshot(path=SCREENSHOTS / f"{self.name}-{state}.png")
        else:
            self.page.screenshot(path=SCREENSHOTS / f"{self.name}-{state}.png")
        monitor = self.monitor(cell)
        box = monitor.bounding_box() if monitor.count() else None
        if box is not None:
            with self._window_height(int(box["height"]) + 400):
                monitor.screenshot(path=SCREENSHOTS / f"{self.name}-{state}-widget.png")

    @contextlib.contextmanager
    def _window_height(self, height: int) -> Iterator[None]:
        """The notebook scrolls inside a fixed-size panel, which clips anything taller than the
        window: make the window tall enough for a moment."""
        size = self.page.viewport_size
        if size is None or height <= size["height"]:
            yield
            return
        self.page.set_viewport_size({"width": size["width"], "height": min(height, 3000)})
        try:
            yield
        finally:
            self.page.set_viewport_size(size)
