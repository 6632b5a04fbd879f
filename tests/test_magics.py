"""`%load_ext dltrack` and `%dltrack` in a real IPython shell, with real trainings."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from dltrack import Tracker, create_model
from dltrack.wire.keys import model_id, new_model_key
from tests.helpers import ROOT, pace_callback, tiny_data, tiny_model, trainings, wait_until

UsageError: type[Exception]
try:
    from IPython.core.error import UsageError
except ImportError:  # pragma: no cover - the dev extra installs IPython
    pytest.skip("IPython is not installed: pip install -e '.[dev]'", allow_module_level=True)

STATIC = ROOT / "dltrack_widget" / "static"


@pytest.fixture(scope="module")
def shell() -> Any:
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "dltrack")
    return ip


def _build_front_end() -> str | None:
    """Build js/ into dltrack_widget/static/; None on success, else why not."""
    if shutil.which("npm") is None:
        return "npm is not on PATH"
    # `npm run build` when the packages are there (no reinstall under someone's feet),
    # else the Makefile's full `make js`.
    if (ROOT / "js" / "node_modules").exists():
        command = ["npm", "run", "build", "--silent"]
        cwd = ROOT / "js"
    else:
        command = ["make", "js"]
        cwd = ROOT
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        return f"`{' '.join(command)}` failed: {result.stderr.strip()[-500:]}"
    return None


@pytest.fixture(scope="session")
def front_end() -> None:
    """The built widget bundle, which `%dltrack KEY` needs; built here when missing."""
    bundle = [STATIC / "widget.js", STATIC / "widget.css"]
    if all(p.exists() for p in bundle):
        return
    why = _build_front_end()
    if why is None and all(p.exists() for p in bundle):
        return
    message = f"the widget front end is not built ({why or 'no bundle produced'}); run `make js`"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def monitor(shell: Any, front_end: None, model_key: str) -> Iterator[Any]:
    widget = shell.run_line_magic("dltrack", model_key)
    yield widget
    widget.close()


# -- listing models ---------------------------------------------------------------------------


def test_list_without_models(shell: Any) -> None:
    listing = shell.run_line_magic("dltrack", "")
    assert "No models yet" in repr(listing)
    assert "dltrack models create" in listing._repr_html_()


def test_list_models_escapes_names(shell: Any) -> None:
    hostile = '<img src=x onerror="alert(1)"> & co'
    plain = create_model("digits cnn")
    odd = create_model(hostile)
    listing = shell.run_line_magic("dltrack", "")
    html = listing._repr_html_()
    assert plain.key in html and "digits cnn" in html
    assert odd.key in html
    assert "<img" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; co" in html
    text = repr(listing)
    assert plain.key in text and hostile in text


def test_list_uses_the_store_argument(shell: Any, tmp_path: Any) -> None:
    url = f"sqlite://{tmp_path}/elsewhere.db"
    there = create_model("elsewhere", store=url)
    create_model("here")
    listing = shell.run_line_magic("dltrack", f"--store {url}")
    assert [m.key for m in listing.models] == [there.key]


# -- bad input: UsageError with a useful message, never SystemExit ----------------------------


@pytest.mark.parametrize(
    "line, says",
    [
        ("badkey", "is not a model key"),
        ("'bad key with spaces'", "is not a model key"),
        (new_model_key(), "no model 'id_"),
        ("--store bogus://x", "store URL 'bogus://x'"),
        ("KEY --broker bogus://x", "broker URL 'bogus://x'"),
        ("KEY --store amqp://u:hunter2@h/", "store URL"),
        ("KEY --broker amqp://u:hunter2@h:port/", "invalid port"),
        ("KEY extra-argument", "unrecognized arguments"),
        ("--no-such-flag", "unrecognized arguments"),
        ("'unbalanced", "No closing quotation"),
    ],
)
def test_bad_lines_raise_usage_error(shell: Any, model_key: str, line: str, says: str) -> None:
    line = line.replace("KEY", model_key)
    with pytest.raises(UsageError) as error:
        shell.run_line_magic("dltrack", line)
    message = str(error.value)
    assert message.startswith("%dltrack: ")
    assert says in message
    assert "hunter2" not in message


@pytest.mark.parametrize(
    ("blocked", "says"),
    [("anywidget", "pip install 'dltrack[widget]'"), ("firebase_admin", "dltrack[firestore]")],
)
def test_a_missing_extra_is_a_usage_error_naming_the_install(
    shell: Any, model_key: str, monkeypatch: pytest.MonkeyPatch, blocked: str, says: str
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, blocked, None)  # `import blocked` now fails
    for module in ("dltrack_widget.widget", "dltrack.backends.firestore_store"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    line = model_key if blocked == "anywidget" else f"{model_key} --store firestore://p"
    with pytest.raises(UsageError) as error:
        shell.run_line_magic("dltrack", line)
    assert says in str(error.value) and "\n" not in str(error.value)


def test_help_is_a_usage_error_not_an_exit(shell: Any) -> None:
    with pytest.raises(UsageError) as error:
        shell.run_line_magic("dltrack", "--help")
    assert "--broker" in str(error.value) and "--store" in str(error.value)


def test_errors_in_a_cell_leave_the_shell_running(shell: Any) -> None:
    result = shell.run_cell("%dltrack badkey")
    assert isinstance(result.error_in_exec, UsageError)
    assert shell.run_cell("1 + 1").result == 2


# -- the monitor ------------------------------------------------------------------------------


def _training(state: dict[str, Any], training_id: str | None) -> dict[str, Any] | None:
    return next((t for t in state["trainings"] if t["training_id"] == training_id), None)


@pytest.mark.slow
def test_monitor_follows_a_training(monitor: Any, model_key: str) -> None:
    from dltrack_widget import TrainingMonitor

    assert isinstance(monitor, TrainingMonitor)
    # The public id, never the key: synced traits are saved into the notebook.
    assert monitor.public_id == model_id(model_key) and monitor.can_control
    assert monitor.state["model"]["name"] == "test model"
    assert monitor.state["trainings"] == []
    seen: dict[str, Any] = {}
    tracker = Tracker(model_key)

    def look(epoch: int, batch: int) -> None:
        if (epoch, batch) == (2, 0):
            # While it runs, `state` holds the running training's finished epochs.
            seen["running"] = wait_until(
                lambda: (
                    (t := _training(monitor.state, tracker.training_id))
                    and len(t["epochs"] or []) == 2
                    and t
                ),
                10,
                "the monitor to show two finished epochs",
            )

    x, y = tiny_data(64)
    history = tiny_model().fit(
        x, y, epochs=3, batch_size=16, callbacks=[tracker, pace_callback(look)], verbose=0
    )
    assert seen["running"]["status"] == "running"
    done = wait_until(
        lambda: (
            (t := _training(monitor.state, tracker.training_id))
            and t["status"] == "completed"
            and t["number"] == 1
            and t
        ),
        15,
        "the monitor to show the training completed",
    )
    assert done["epochs_done"] == 3
    # The per-batch loss this viewer heard, on one step count across the epochs (4 an epoch).
    steps = done["batches"]["step"]
    assert steps == sorted(steps) and steps[0] >= 1 and steps[-1] <= 12
    assert len(done["batches"]["loss"]) == len(steps)
    # A finished training's epochs travel in `history`, not in `state`.
    assert done["epochs"] is None
    training_id = tracker.training_id
    assert training_id is not None
    wait_until(lambda: training_id in monitor.history, 10, "the history trait")
    assert [e["logs"] for e in monitor.history[training_id]] == [
        {**{k: v[i] for k, v in history.history.items()}, "lr": pytest.approx(0.01)}
        for i in range(3)
    ]
    json.dumps(monitor.get_state())  # what the notebook saves is plain JSON


@pytest.mark.slow
def test_stop_message_from_the_front_end(monitor: Any, model_key: str) -> None:
    """The Stop button's comm message, handled as the kernel's comm machinery would."""
    x, y = tiny_data(160)
    reached, answered = threading.Event(), threading.Event()
    acked: dict[str, Any] = {}

    def click() -> None:
        try:
            if reached.wait(60):
                monitor._handle_custom_msg({"action": "stop"}, [])
                acked["command"] = wait_until(
                    lambda: next(
                        (
                            c
                            for c in monitor.state["commands"]
                            if c["state"] in ("acknowledged", "done")
                        ),
                        None,
                    ),
                    15,
                    "the stop to be acknowledged in the widget state",
                )
        finally:
            answered.set()

    def hold(epoch: int, batch: int) -> None:
        if (epoch, batch) == (1, 3):
            reached.set()
            answered.wait(60)

    clicker = threading.Thread(target=click, daemon=True)
    clicker.start()
    history = tiny_model().fit(
        x,
        y,
        epochs=20,
        batch_size=16,
        callbacks=[Tracker(model_key), pace_callback(hold)],
        verbose=0,
    )
    clicker.join(10)
    assert acked["command"]["kind"] == "stop"
    assert history.epoch == [0, 1]
    (t,) = trainings(model_key)
    assert t.status == "stopped"
    assert t.stop["sender"].endswith("(notebook widget)")
    assert (t.stop["epoch"], t.stop["step"]) == (1, 5)
    shown = wait_until(
        lambda: (v := _training(monitor.state, t.training_id)) and v["status"] == "stopped" and v,
        15,
        "the monitor to show the training stopped",
    )
    assert shown["stop"]["epoch"] == 1


def test_front_end_messages_that_make_no_sense_are_ignored(monitor: Any) -> None:
    junk = (
        None,
        "stop",
        [1],
        {"action": "explode"},
        {"action": "rename_model"},
        {"action": "rename_model", "name": "   "},
        {"action": "rename_model", "name": "x" * 1000},
        {"action": "stop", "training_id": "../../etc"},
        {"action": "delete_training", "training_id": 7},
    )
    for content in junk:
        monitor._handle_custom_msg(content, [])
    # Then one that makes sense: store jobs run in order, so once it shows, the junk before it
    # has been dealt with (renames go through the Watcher's store thread).
    monitor._handle_custom_msg({"action": "rename_model", "name": "renamed"}, [])
    snap = monitor.watcher.wait_for(lambda s: s["model"]["name"] == "renamed", 15)
    assert snap is not None, monitor.watcher.snapshot()["model"]
    assert snap["commands"] == []  # no stop was queued
    assert snap["error"] is None


def test_widget_state_shows_where_it_reads_from(monitor: Any) -> None:
    saved = json.dumps(monitor.get_state())
    assert "sqlite://" in saved
    assert monitor.state["connection"]["status"] == "live"


@pytest.mark.amqp
def test_widget_state_never_holds_the_broker_password(
    shell: Any, front_end: None, model_key: str, amqp_url: str
) -> None:
    from urllib.parse import urlsplit

    password = urlsplit(amqp_url).password
    assert password, f"the test broker URL has no password: {amqp_url}"
    widget = shell.run_line_magic("dltrack", f"{model_key} --broker {amqp_url}")
    try:
        wait_until(lambda: widget.state["connection"]["status"] == "live", 20, "a live broker")
        saved = json.dumps(widget.get_state())
        assert f":{password}@" not in saved
        assert ":***@" in saved
    finally:
        widget.close()


@pytest.mark.slow
def test_steering_messages_from_the_front_end_reach_a_training_in_this_kernel(
    monitor: Any, model_key: str
) -> None:
    """The control bar's comm messages (learning rate, pause, resume), through the same path
    as Stop, to a fit() running in the same process, as in a notebook's own kernel."""
    x, y = tiny_data(160)
    seen: list[float] = []
    reached = threading.Event()
    results: dict[str, Any] = {}

    def states() -> dict[str, str]:
        return {c["kind"]: c["state"] for c in monitor.state["commands"]}

    def click() -> None:
        try:
            if reached.wait(60):
                steer()
        finally:  # whatever failed, the training must not stay paused
            monitor._handle_custom_msg({"action": "stop"}, [])

    def steer() -> None:
        monitor._handle_custom_msg({"action": "set_lr", "args": {"value": [1]}}, [])  # junk
        monitor._handle_custom_msg({"action": "set_lr", "args": {"value": 0.02}}, [])
        wait_until(lambda: states().get("set_lr") == "done", 30, "the new rate")
        monitor._handle_custom_msg({"action": "pause"}, [])
        wait_until(lambda: states().get("pause") == "done", 30, "the pause")
        results["held"] = len(seen)
        time.sleep(1.0)
        results["after_pause"] = len(seen)
        monitor._handle_custom_msg({"action": "resume"}, [])
        wait_until(lambda: states().get("resume") == "done", 30, "the resume")

    def record(epoch: int, batch: int) -> None:
        seen.append(float(model.optimizer.learning_rate))
        if (epoch, batch) == (0, 3):
            reached.set()

    clicker = threading.Thread(target=click, daemon=True)
    clicker.start()
    model = tiny_model()
    model.fit(
        x,
        y,
        epochs=200,
        batch_size=16,
        verbose=0,
        callbacks=[Tracker(model_key), pace_callback(record, delay=0.02)],
    )
    clicker.join(10)
    assert seen[0] == pytest.approx(0.01) and seen[-1] == pytest.approx(0.02)
    assert results["after_pause"] <= results["held"] + 1
    kinds = [c["kind"] for c in monitor.watcher.snapshot()["commands"]]
    assert kinds == ["set_lr", "pause", "resume", "stop"]
