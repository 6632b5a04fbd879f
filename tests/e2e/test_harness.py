"""The harness itself: a notebook opens in each app and runs a cell in the test's kernel."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import open_notebook
from .jupyter import JupyterServer
from .notebook_page import UI_TIMEOUT_MS, NotebookPage

pytestmark = pytest.mark.e2e


def test_a_cell_runs_in_this_venv_with_this_tests_home(
    jupyter: JupyterServer, notebook_page: NotebookPage, kernel_name: str, dltrack_home: Path
) -> None:
    nb = open_notebook(
        jupyter,
        notebook_page,
        kernel_name,
        ["import os, sys\nprint(sys.executable)\nprint(os.environ['DLTRACK_HOME'])"],
        dltrack_home,
    )
    nb.run_cell(0)
    nb.wait_cell_done(0)
    expect(nb.output(0)).to_contain_text(sys.executable, timeout=UI_TIMEOUT_MS)
    expect(nb.output(0)).to_contain_text(re.compile(re.escape(str(dltrack_home))))
