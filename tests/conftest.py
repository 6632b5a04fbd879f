"""Fixtures shared by the whole suite. Add fixtures here; do not remove others' lines."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.servers"]

_SETTINGS = (
    "DLTRACK_BROKER_URL",
    "DLTRACK_STORE_URL",
    "DLTRACK_FIRESTORE_CREDENTIALS",
    "DLTRACK_TRAINING_TOKEN",
)


@pytest.fixture(autouse=True)
def dltrack_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own embedded backend: a fresh DLTRACK_HOME, no remote settings."""
    home = tmp_path / "dltrack-home"
    monkeypatch.setenv("DLTRACK_HOME", str(home))
    for name in _SETTINGS:
        monkeypatch.delenv(name, raising=False)
    # Child processes (CLI, trainings) inherit this; TensorFlow's start-up chatter would
    # bury the lines the tests read.
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    return home


@pytest.fixture
def model_key(dltrack_home: Path) -> str:
    """A model created in this test's embedded store."""
    from dltrack import create_model

    return create_model("test model").key


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `make dist` builds (built once per session, from the sdist)."""
    from tests.wheel_helpers import build_wheel

    return build_wheel(tmp_path_factory.mktemp("dist"))
