"""`dltrack serve` in headless Chromium at a phone's viewport (390 by 844): a live training in
another process shows and moves; Stop is there only with --allow-control and then works end
to end; the page asks for nothing it may not have; a training's end is a notification."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.helpers import start_training, trainings, wait_until
from tests.serve_helpers import ServeProcess

from .conftest import save_measurement
from .notebook_page import SCREENSHOTS, TRAINING_TIMEOUT_MS, UI_TIMEOUT_MS

pytestmark = pytest.mark.e2e

EPOCHS = 20
PHONE = {"width": 390, "height": 844}
# Records what the page asks the Notification API to show (and still shows it).
NOTIFICATION_SPY = """
window.__notifications = [];
const Real = window.Notification;
if (Real) {
  window.Notification = class extends Real {
    constructor(title, options) { window.__notifications.push(title); super(title, options); }
  };
}
"""


@pytest.fixture
def phone(browser: Any, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    context.grant_permissions(["notifications"])
    context.add_init_script(NOTIFICATION_SPY)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def training(model_key: str) -> Iterator[Any]:
    proc = start_training(model_key, epochs=EPOCHS, step_delay=0.05)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def bar_position(page: Page) -> tuple[int, int]:
    """(epoch, step) of the bar being filled, read in one go (it may be redrawn between)."""
    bar = page.locator('[data-testid="epoch-bar"][data-state="current"]').last
    expect(bar).to_contain_text(re.compile(r"\d+/\d+"), timeout=TRAINING_TIMEOUT_MS)
    epoch, text = bar.evaluate("b => [b.getAttribute('data-epoch'), b.textContent]")
    step = re.search(r"(\d+)/\d+", text or "")
    return int(epoch or 0), int(step.group(1)) if step else 0


def wait_bars_advance(page: Page) -> tuple[int, int]:
    first = bar_position(page)
    return wait_until(
        lambda: (p := bar_position(page)) > first and p, TRAINING_TIMEOUT_MS / 1000, "bars to move"
    )


def update_gaps(page: Page, seconds: float = 5.0) -> dict[str, Any]:
    """How often the page's bar text changes while a training runs (~10 progress messages a
    second leave the training): the gaps between changes, in ms. A measurement, no assert."""
    gaps: list[float] = page.evaluate(
        """(ms) => new Promise((resolve) => {
          const times = [];
          const observer = new MutationObserver(() => times.push(performance.now()));
          observer.observe(document.getElementById("monitors"), {
            subtree: true, characterData: true, childList: true });
          setTimeout(() => {
            observer.disconnect();
            const unique = times.filter((t, i) => i === 0 || t - times[i - 1] > 1);
            resolve(unique.slice(1).map((t, i) => t - unique[i]));
          }, ms);
        })""",
        seconds * 1000,
    )
    ordered = sorted(gaps)
    return {
        "updates": len(gaps) + 1,
        "median_gap_ms": round(ordered[len(ordered) // 2]) if ordered else None,
        "max_gap_ms": round(ordered[-1]) if ordered else None,
    }


def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png")


def test_phone_page_shows_a_live_training_read_only(
    phone: Page, model_key: str, training: Any
) -> None:
    with ServeProcess(model_key) as server:
        phone.goto(server.url)
        expect(phone.get_by_test_id("page-monitor")).to_have_count(1)
        expect(phone.get_by_test_id("model-name")).to_have_text("test model")
        wait_bars_advance(phone)
        save_measurement("serve page, phone, gaps between bar updates", update_gaps(phone))
        done = phone.locator('[data-testid="epoch-bar"][data-state="done"]').first
        expect(done).to_contain_text("val_loss", timeout=TRAINING_TIMEOUT_MS)
        shoot(phone, "serve-phone-live")
        for control in ("stop-button", "stop-now", "rename-model", "delete-model"):
            expect(phone.get_by_test_id(control)).to_have_count(0)
        expect(phone.get_by_test_id("delete-training")).to_have_count(0)

        # A forged Stop from this page's own origin and token: the server drops it.
        phone.evaluate(
            """() => new Promise((resolve) => {
              const ws = new WebSocket(`ws://${location.host}/ws${location.search}`);
              ws.onopen = () => {
                ws.send(JSON.stringify({ monitor: 0, content: { action: "stop" } }));
                resolve();
              };
            })"""
        )
        epoch, _ = bar_position(phone)
        wait_until(lambda: bar_position(phone)[0] >= epoch + 2, 120, "two more epochs")
        [record] = trainings(model_key)
        assert record.status == "running"
        expect(phone.get_by_test_id("stop-status")).to_be_hidden()


def test_phone_page_stops_a_training_with_allow_control(
    phone: Page, model_key: str, training: Any
) -> None:
    with ServeProcess(model_key, "--allow-control") as server:
        phone.goto(server.url)
        expect(phone.get_by_test_id("notify")).to_be_hidden()  # permission already granted
        wait_bars_advance(phone)
        phone.get_by_test_id("stop-button").click()
        phone.get_by_test_id("stop-now").click()
        status = phone.get_by_test_id("stop-status")
        expect(status).to_be_visible(timeout=UI_TIMEOUT_MS)
        expect(status).to_have_attribute("data-phase", "stopped", timeout=TRAINING_TIMEOUT_MS)
        expect(status).to_contain_text(re.compile(r"stopped at epoch \d+, step \d+"))
        shoot(phone, "serve-phone-stopped")
        assert training.wait(timeout=120) == 0
        phone.wait_for_function(
            "() => window.__notifications.some((t) => t.includes('stopped'))",
            timeout=UI_TIMEOUT_MS,
        )
    [record] = trainings(model_key)
    assert record.status == "stopped"


def test_wrong_token_shows_nothing(phone: Page, model_key: str) -> None:
    with ServeProcess(model_key) as server:
        response = phone.goto(f"{server.base}?token=not-the-token")
        assert response is not None and response.status == 403
        expect(phone.locator("body")).to_have_text("403 Forbidden")
        expect(phone.get_by_test_id("page-monitor")).to_have_count(0)
