"""The monitor's static snapshot (for a notebook without its kernel) and its `ui_state` trait,
with a real IPython shell, a real monitor and a real Keras training."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dltrack import Tracker
from dltrack_widget import static_view
from dltrack_widget._ui_state import clean_ui_state
from tests.helpers import tiny_data, tiny_model, wait_until
from tests.test_magics import front_end  # noqa: F401  (the built bundle a monitor needs)

pytest.importorskip("IPython")

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


MODEL_ID = "id_Qw7rT2yUi9oP4aSdF6gH8j"


def _snapshot(**overrides: Any) -> dict[str, Any]:
    epochs = [
        {"epoch": e, "logs": {"accuracy": 0.5 + e / 10, "loss": 1 / (e + 1)}} for e in range(3)
    ]
    training = {
        "training_id": "0" * 16,
        "number": 1,
        "status": "completed",
        "epochs_planned": 3,
        "epochs_done": 3,
        "final_logs": {},
        "reason": None,
        "epochs": epochs,
    }
    return {
        "model": {"id": MODEL_ID, "name": "mnist"},
        "connection": {"status": "live", "broker": "amqp://bob:hunter2@host/", "store": ""},
        "error": None,
        "now": 1_700_000_000.0,
        "trainings": [training],
        "commands": [],
        **overrides,
    }


def test_render_shows_the_last_state_as_escaped_text_without_urls() -> None:
    hostile = '<img src=x onerror="alert(1)">'
    # Even if a key reached the snapshot, the page shows only the public id, shortened.
    snap = _snapshot(model={"id": MODEL_ID, "key": "k3Y9xQ2mAbCdEfGh", "name": hostile})
    snap["trainings"][0]["epochs"][0]["logs"][hostile] = 1.0
    html = static_view.render(snap)
    assert static_view.STATIC_ATTR in html
    assert "<img" not in html and "&lt;img src=x" in html
    assert "hunter2" not in html and "amqp://" not in html
    assert f"{MODEL_ID[: static_view.KEY_SHOWN]}…" in html and MODEL_ID not in html
    assert "k3Y9xQ2m" not in html
    assert "completed" in html and "3 / 3" in html
    # The widget's metric order: loss before accuracy.
    assert html.index(">loss<") < html.index(">accuracy<")


def test_the_signature_ignores_the_clock_but_not_a_new_epoch() -> None:
    a, b = _snapshot(), _snapshot(now=1_700_000_100.0)
    assert static_view.signature(a) == static_view.signature(b)
    b["trainings"][0]["epochs"] = b["trainings"][0]["epochs"][:2]
    assert static_view.signature(a) != static_view.signature(b)


def test_ui_state_keeps_only_known_well_formed_choices() -> None:
    good = {
        "tab": "charts",
        "selected": "a" * 16,
        "compare": ["b" * 16],
        "axis": "wall_time",
        "smoothing": 0.6,
        "log": True,
        "goals": {"val_top5_miss": "min"},
    }
    assert clean_ui_state({**good, "height": 480}) == {**good, "height": 480}
    junk = {
        "tab": "<script>",
        "selected": "not-an-id",
        "compare": ["c" * 16, 3, "c" * 16, None],
        "axis": "x" * 50,
        "smoothing": 5,
        "log": "yes",
        "goals": {"<b>": "min", "auc": "sideways", "mae": "min"},
        "height": 10**9,
        "secret": "hunter2",
    }
    assert clean_ui_state(junk) == {
        "tab": None,
        "selected": None,
        "compare": ["c" * 16],
        "axis": None,
        "smoothing": None,
        "log": None,
        "goals": {"mae": "min"},
        "height": None,
    }
    assert clean_ui_state(["not", "a", "dict"]) == {}


@pytest.fixture
def captured() -> Iterator[Any]:
    """The shell's display publisher swapped for one that records every output."""
    from IPython.core.displaypub import CapturingDisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    saved = shell.display_pub
    shell.display_pub = CapturingDisplayPublisher()
    try:
        yield shell.display_pub
    finally:
        shell.display_pub = saved


@pytest.mark.usefixtures("front_end")
def test_a_displayed_monitor_keeps_a_static_snapshot_up_to_date(
    captured: Any, model_key: str
) -> None:
    from IPython.display import display

    from dltrack_widget import TrainingMonitor

    monitor = TrainingMonitor(model_key)
    try:
        monitor.ui_state = {"tab": "trainings", "compare": ["z"], "selected": None}
        assert monitor.ui_state["tab"] == "trainings" and monitor.ui_state["compare"] == []
        display(monitor)
        widget, static = captured.outputs[:2]
        assert WIDGET_VIEW in widget["data"]
        display_id = static["transient"]["display_id"]
        assert "No trainings yet" in static["data"]["text/html"]

        tracker = Tracker(model_key)
        x, y = tiny_data(32)
        tiny_model().fit(x, y, epochs=2, batch_size=16, callbacks=[tracker], verbose=0)

        def completed() -> Any:
            for out in reversed(captured.outputs):
                html = out["data"].get("text/html", "")
                if out["update"] and "completed" in html:
                    return out
            return None

        update = wait_until(completed, 15, "the static snapshot to show the training completed")
        assert update["transient"]["display_id"] == display_id
        assert "2 / 2" in update["data"]["text/html"]
    finally:
        monitor.close()
