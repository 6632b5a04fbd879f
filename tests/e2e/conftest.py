"""Fixtures of the browser tests: real Jupyter servers, headless Chromium, one page per test.

Servers and the browser live for the whole session (they take seconds to start); each test
gets a fresh browser context, its own kernelspec carrying its DLTRACK_HOME (set by the
suite-wide `dltrack_home` fixture), and its kernels shut down when it ends.

Chromium is Debian's (`tools/setup.sh --test` installs it), driven through Playwright with
`executable_path`; Playwright's own browser download is never used.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import services

from .jupyter import JupyterServer, chromium_path
from .notebook_page import SCREENSHOTS, NotebookPage

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
BUNDLE = Path(__file__).resolve().parents[2] / "dltrack_widget" / "static" / "widget.js"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _unavailable(why: str) -> None:
    if services.in_ci():
        pytest.fail(why, pytrace=False)
    pytest.skip(why)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Let fixtures know whether their test failed (for failure screenshots)."""
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        _unavailable("chromium is not installed (tools/setup.sh --test installs it)")
    if not BUNDLE.exists():
        _unavailable(f"the widget's front end is not built ({BUNDLE}): run `make js`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _server(app: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    base = tmp_path_factory.mktemp(f"jupyter-{app}")
    server = JupyterServer(app, base, ARTIFACTS / "logs" / f"jupyter-{app}.log").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def jupyter_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    yield from _server("lab", tmp_path_factory)


@pytest.fixture(scope="session")
def jupyter_notebook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    yield from _server("notebook", tmp_path_factory)


@pytest.fixture(params=["lab", "notebook"])
def jupyter(request: pytest.FixtureRequest) -> JupyterServer:
    """Each of JupyterLab and Notebook 7, for tests that must pass in both."""
    server: JupyterServer = request.getfixturevalue(f"jupyter_{request.param}")
    return server


def _test_name(request: pytest.FixtureRequest) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")


@pytest.fixture
def kernel_name(request: pytest.FixtureRequest) -> str:
    """The name of this test's kernelspec (created in whichever server the test uses)."""
    return _test_name(request)


@pytest.fixture
def notebook_page(
    request: pytest.FixtureRequest, browser: Any, dltrack_home: Path
) -> Iterator[NotebookPage]:
    """A fresh browser page; on failure its screenshot and console land in test-artifacts/."""
    name = _test_name(request)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    notebook = NotebookPage(page, name)
    try:
        yield notebook
    finally:
        if request.node.stash.get(_FAILED, False):
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            try:
                page.screenshot(path=SCREENSHOTS / f"{name}-FAILED.png")
            except Exception as exc:  # noqa: BLE001 - the page may be gone; keep the report
                console.append(f"(no failure screenshot: {exc})")
        logs = ARTIFACTS / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        (logs / f"{name}-console.txt").write_text("\n".join(console))
        context.close()
        for server in notebook.servers:
            _shut_down_kernels(server)
            server.reset_settings()


def _shut_down_kernels(server: JupyterServer) -> None:
    """Each test's kernel (TensorFlow loaded: hundreds of MB) goes when the test does."""
    for kernel in server.running_kernels():
        req = urllib.request.Request(server.api_url(f"api/kernels/{kernel['id']}"), method="DELETE")
        with contextlib.suppress(OSError):  # already gone
            urllib.request.urlopen(req, timeout=30).close()


def open_notebook(
    server: JupyterServer,
    page: NotebookPage,
    kernel_name: str,
    cells: list[str],
    dltrack_home: Path,
) -> NotebookPage:
    """Write `cells` as a notebook bound to a kernelspec for this test, and open it."""
    env = {"DLTRACK_HOME": str(dltrack_home), "TF_CPP_MIN_LOG_LEVEL": "3"}
    for name in ("DLTRACK_BROKER_URL", "DLTRACK_STORE_URL"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    server.kernelspec(kernel_name, env)
    relative = f"{kernel_name}/{kernel_name}.ipynb"
    server.write_notebook(relative, cells, kernel_name)
    page.servers.add(server)
    url = server.notebook_url(relative, workspace=kernel_name)
    return page.open(url, lambda: server.kernel_ready(relative))


def save_measurement(name: str, values: dict[str, Any]) -> None:
    """Append one measurement to test-artifacts/latency.jsonl (docs/browser.md reads it)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with (ARTIFACTS / "latency.jsonl").open("a") as out:
        out.write(json.dumps({"test": name, **values}) + "\n")
