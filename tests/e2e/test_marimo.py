"""`mo.ui.anywidget(TrainingMonitor(KEY))` in a real marimo server (notebooks/marimo_monitor.py,
`marimo run`), in headless Chromium: the monitor shows a live training in another process."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.helpers import ROOT, child_env, start_training

from .jupyter import free_port
from .notebook_page import TRAINING_TIMEOUT_MS, UI_TIMEOUT_MS, NotebookPage

pytestmark = pytest.mark.e2e

NOTEBOOK = ROOT / "notebooks" / "marimo_monitor.py"
MARIMO = Path(sys.executable).with_name("marimo")


@pytest.fixture
def marimo_app(model_key: str, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "marimo.log").open("wb")
    command = [str(MARIMO), "run", str(NOTEBOOK), "--headless", "--no-token", "--port", str(port)]
    proc = subprocess.Popen(
        [*command, "--", "--key", model_key],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=child_env(),
        cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((tmp_path / "marimo.log").read_text()) from None
            time.sleep(0.25)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_marimo_shows_a_live_training(
    marimo_app: str, notebook_page: NotebookPage, model_key: str
) -> None:
    training: Any = start_training(model_key, epochs=3, step_delay=0.05)
    try:
        page = notebook_page.page
        page.goto(marimo_app)
        monitor = page.locator(".dltrack-monitor")
        expect(monitor).to_be_visible(timeout=UI_TIMEOUT_MS)
        expect(monitor.get_by_test_id("model-name")).to_have_text("test model")
        bar = monitor.locator('[data-testid="epoch-bar"][data-state="current"]').last
        expect(bar).to_contain_text("/90", timeout=TRAINING_TIMEOUT_MS)
        first = bar.inner_text()
        expect(bar).not_to_have_text(first, timeout=UI_TIMEOUT_MS)  # it moves
        row = monitor.get_by_test_id("training-row").first
        expect(row).to_contain_text("completed", timeout=TRAINING_TIMEOUT_MS)
        page.screenshot(path=str(ROOT / "test-artifacts" / "screenshots" / "marimo-live.png"))
        assert training.wait(timeout=120) == 0
    finally:
        if training.poll() is None:
            training.kill()
        training.wait()
