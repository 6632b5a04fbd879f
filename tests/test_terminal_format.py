"""The terminal viewer's pure formatting: bars, durations, rates, metric lists."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from dltrack.viewing import terminal_format as fmt
from dltrack.viewing.terminal_view import JsonLinesView, TerminalView


@pytest.mark.parametrize(
    "seconds, text",
    [
        (None, "--:--"),
        (-1, "--:--"),
        (0, "00:00"),
        (5.9, "00:05"),
        (65, "01:05"),
        (3599, "59:59"),
        (3600, "1:00:00"),
        (90061, "25:01:01"),
    ],
)
def test_duration(seconds: float | None, text: str) -> None:
    assert fmt.duration(seconds) == text


@pytest.mark.parametrize(
    "rate, text",
    [(None, "?it/s"), (0, "?it/s"), (12.345, "12.35it/s"), (1, "1.00it/s"), (0.25, "4.00s/it")],
)
def test_rate(rate: float | None, text: str) -> None:
    assert fmt.rate(rate) == text


def test_logs_put_loss_first_and_each_val_metric_after_its_train_twin() -> None:
    text = fmt.logs({"val_loss": 0.5, "accuracy": 0.9, "loss": 0.4, "val_accuracy": 0.8})
    assert text == "loss 0.4 · val_loss 0.5 · accuracy 0.9 · val_accuracy 0.8"
    assert fmt.logs({"c": 1, "a": 2, "b": 3}, limit=2) == "c 1 · a 2"  # as Keras logged them
    assert fmt.logs({}) == ""
    assert fmt.logs({"loss": 0.123456789}) == "loss 0.1235"


@pytest.mark.parametrize("steps", [1, 7, 10, 90])
def test_bar_fills_in_proportion(steps: int) -> None:
    bars = [fmt.bar(step, steps, width=30) for step in range(steps + 1)]
    for b in bars:
        assert len(b) == 30 and set(b) <= {"█", "░"}
    filled = [b.count("█") for b in bars]
    assert filled[0] == 0 and filled[-1] == 30
    assert filled == sorted(filled)
    assert fmt.bar(steps * 2, steps) == "█" * fmt.BAR_WIDTH  # never overflows


def test_bar_with_unknown_steps_bounces() -> None:
    positions = [fmt.bar(step, None, width=5).index("█") for step in range(12)]
    assert positions == [0, 1, 2, 3, 4, 3, 2, 1, 0, 1, 2, 3]
    assert all(len(fmt.bar(s, None, width=5)) == 5 for s in range(12))
    assert fmt.bar(3, None, width=1) == "█"


def test_epoch_label_is_one_based() -> None:
    assert fmt.epoch_label(0, 10) == "Epoch 1/10"
    assert fmt.epoch_label(4, None) == "Epoch 5"


def training(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "training_id": "0123456789abcdef",
        "number": 2,
        "status": "running",
        "started_at": 1000.0,
        "ended_at": None,
        "epochs_planned": 5,
        "epochs_done": 1,
        "final_logs": {"loss": 0.5},
        "stop": None,
        "reason": None,
        "epochs": [
            {
                "epoch": 0,
                "logs": {"loss": 0.5},
                "steps": 10,
                "started_at": 1000.0,
                "ended_at": 1012.0,
            }
        ],
        "current": {
            "epoch": 1,
            "step": 5,
            "steps": 10,
            "logs": {"loss": 0.45},
            "epoch_started_at": 1012.0,
            "rate": 2.5,
        },
    }
    base.update(fields)
    return base


def test_progress_line() -> None:
    line = fmt.progress_line(training(), now=1014.0)
    assert line.startswith("#2 Epoch 2/5 ")
    assert "5/10" in line
    assert "[00:02<00:02, 2.50it/s]" in line  # 5 steps left at 2.5 it/s
    assert "loss 0.45" in line


def test_progress_line_says_a_pause_and_the_learning_rate() -> None:
    line = fmt.progress_line(training(lr=0.0050000002374, paused_since=1000.0), now=1014.0)
    assert f"2.50it/s] paused since {fmt.clock(1000.0)} (00:14) loss 0.45" in line
    assert line.endswith(" · lr 0.005")
    assert "paused" not in fmt.progress_line(training(lr=None, paused_since=None), now=1014.0)


def test_progress_line_unknown_steps_and_rate() -> None:
    current: dict[str, Any] = {
        "epoch": 0,
        "step": 7,
        "steps": None,
        "logs": {},
        "epoch_started_at": 1.0,
        "rate": None,
    }
    line = fmt.progress_line(training(number=None, current=current, epochs_planned=None), now=2.0)
    assert line.startswith("#? Epoch 1 ")
    assert " 7 [00:01<--:--, ?it/s]" in line


def test_epoch_line() -> None:
    t = training()
    line = fmt.epoch_line(t, t["epochs"][0])  # type: ignore[index]
    assert line == f"#2 Epoch 1/5 {'█' * 30} 10/10 [00:12] loss 0.5"
    bare = fmt.epoch_line(t, {"epoch": 3, "logs": {}})
    assert "done [--:--]" in bare


def test_training_summary_explains_how_it_ended() -> None:
    stop = {"sender": "ana@laptop (dltrack stop)", "epoch": 1, "step": 5}
    stopped = fmt.training_summary(
        training(status="stopped", stop=stop, ended_at=1075.0), now=5000.0
    )
    assert "stopped" in stopped
    assert "01:15" in stopped
    assert "(stopped by ana@laptop (dltrack stop) at epoch 2, step 5)" in stopped
    failed = fmt.training_summary(
        training(status="failed", reason="an exception escaped fit()"), now=1010.0
    )
    assert "(an exception escaped fit())" in failed
    done = fmt.training_summary(training(status="completed"), now=1010.0)
    assert "1/5 epochs" in done and "(" not in done
    nan = "TerminateOnNaN: the loss became nan in epoch 1"
    ended_early = fmt.training_summary(training(status="completed", reason=nan), now=1010.0)
    assert ended_early.endswith(f"  ({nan})")


def test_where() -> None:
    assert fmt.where({"epoch": 0, "step": 3}) == " at epoch 1, step 3"
    assert fmt.where({"epoch": 2, "step": None}) == " at epoch 3"
    assert fmt.where({}) == ""


def test_sparkline() -> None:
    assert fmt.sparkline([]) == ""
    assert fmt.sparkline([1.0, 1.0]) == "▁▁"
    assert fmt.sparkline([0.0, 0.5, 1.0]) == "▁▄█"
    long = fmt.sparkline([float(i) for i in range(1000)], width=40)
    assert len(long) == 40
    assert long[0] == "▁" and long[-1] in "▇█"


# -- the views fed by snapshots ---------------------------------------------------------------


def snapshot(
    *trainings: dict[str, object], commands: list[dict[str, object]] | None = None
) -> dict[str, object]:
    return {
        "model": {"name": "digits"},
        "connection": {"status": "live", "broker": "amqp://ana:***@host/"},
        "error": None,
        "now": 1014.0,
        "trainings": list(trainings),
        "commands": commands or [],
    }


def test_terminal_view_prints_each_epoch_and_event_once() -> None:
    out = io.StringIO()
    view = TerminalView(out=out, live=False)
    running = training()
    view.update(snapshot(running))
    view.update(snapshot(running))
    command: dict[str, object] = {"id": "c1", "kind": "stop", "state": "sent", "detail": ""}
    view.update(snapshot(running, commands=[command]))
    view.update(snapshot(running, commands=[{**command, "state": "acknowledged"}]))
    ended = training(
        status="stopped",
        stop={"sender": "me", "epoch": 1, "step": 5},
        current=None,
        epochs=[*running["epochs"], {"epoch": 1, "logs": {"loss": 0.4}, "steps": 5}],  # type: ignore[misc]
    )
    view.update(snapshot(ended, commands=[{**command, "state": "acknowledged"}]))
    view.close()
    text = out.getvalue()
    lines = text.splitlines()
    assert lines[0] == "digits  ·  live  ·  amqp://ana:***@host/"
    assert text.count("Epoch 1/5") == 1
    assert text.count("Epoch 2/5") == 1
    assert text.count("stop requested…") == 1
    assert text.count("stop acknowledged by the training") == 1
    assert "(stopped by me at epoch 2, step 5)" in lines[-1]
    assert "\r" not in text  # piped: no redrawn line


def test_terminal_view_draws_the_live_bar_on_a_terminal_and_erases_it_on_close() -> None:
    out = io.StringIO()
    view = TerminalView(out=out, live=True)
    view.update(snapshot(training()))
    bar_line = fmt.progress_line(training(), 1014.0, fmt.bar_width(view.console.width))
    drawn = out.getvalue()
    assert bar_line in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn)
    assert "\x1b[" in drawn  # colour and cursor control on a terminal
    view.close()
    assert out.getvalue()[len(drawn) :].count("\x1b[2K") >= 1  # the bar line erased
    view.update(snapshot(training(number=3)))  # after close: nothing drawn any more
    assert "#3" not in out.getvalue()


def test_json_lines_view() -> None:
    import json

    out = io.StringIO()
    view = JsonLinesView(out=out)
    view.update(snapshot(training()))
    view.update(snapshot())
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0])["trainings"][0]["number"] == 2


def test_epoch_line_marks_an_epoch_stopped_part_way() -> None:
    training = {"number": 2, "epochs_planned": 5, "params": {"steps": 90}}
    record = {"epoch": 1, "steps": 16, "logs": {"loss": 0.5}}
    line = fmt.epoch_line(training, record)
    assert "16/90 (partial)" in line
    assert fmt.bar(16, 90) in line
    full = fmt.epoch_line(training, {**record, "steps": 90})
    assert "90/90" in full and "partial" not in full


@pytest.mark.parametrize(
    "value, text",
    [
        (0.0010000000474974513, "0.001"),  # Keras' float32 learning rate
        (0.41, "0.41"),
        (0.881234, "0.8812"),
        (1234.56, "1235"),
        (0.00012, "1.2e-4"),
        (123456.0, "1.235e+5"),
        (99999.5, "1e+5"),
        (-0.5, "-0.5"),
        (0.0, "0"),
        (2.0, "2"),
        (float("nan"), "NaN"),
        (float("-inf"), "-∞"),
    ],
)
def test_numbers_as_the_widget_writes_them(value: float, text: str) -> None:
    assert fmt.number(value) == text


def test_parameters_keep_more_digits_and_whole_numbers() -> None:
    assert fmt.param(0.0010000000474974513) == "0.001"
    assert fmt.param(0.00025) == "2.5e-4"
    assert fmt.param(0.123456) == "0.123456"
    assert fmt.param(1234567) == "1234567"
    assert fmt.param(None) == "-"
    assert fmt.param([1, 2]) == "[1, 2]"
    assert fmt.metric(True) == "True"


def test_order_is_the_widgets() -> None:
    keras = ["accuracy", "loss", "mae", "val_accuracy", "val_loss", "val_mae", "val_extra"]
    assert fmt.order_metrics(keras) == [
        "loss",
        "val_loss",
        "accuracy",
        "val_accuracy",
        "mae",
        "val_mae",
        "val_extra",
    ]


def test_a_users_name_for_a_recorded_parameter_joins_its_row() -> None:
    params = {
        "epochs": 5,
        "optimizer": "Adam",
        "learning_rate": 0.0010000000474974513,
        "lr": 0.001,
        "opt": "adam",
        "batch": 32,
    }
    assert fmt.param_rows(params) == [
        ("epochs", "5"),
        ("optimizer (opt)", "Adam"),
        ("learning_rate (lr)", "0.001"),
        ("batch", "32"),
    ]
    # Different values tell different things: both rows stay.
    assert fmt.param_rows({"learning_rate": 0.001, "lr": 0.01}) == [
        ("learning_rate", "0.001"),
        ("lr", "0.01"),
    ]


def long_training() -> dict[str, object]:
    logs = {f"metric_{i}": 0.5 for i in range(12)}
    record = {"epoch": 0, "logs": logs, "steps": 10, "started_at": 1000.0, "ended_at": 1012.0}
    return training(epochs=[record], current={**training()["current"], "logs": logs})  # type: ignore[dict-item]


def test_lines_are_cut_at_the_terminal_width_never_wrapped() -> None:
    out = io.StringIO()
    view = TerminalView(out=out, live=True)
    view.console.width = 50
    view.update(snapshot(long_training()))
    view.close()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    lines = [line for line in text.splitlines() if line.strip()]
    assert any(line.startswith("#2 Epoch 1/5") for line in lines)
    assert all(len(line) <= 50 for line in lines), lines
    assert any(line.endswith("…") for line in lines)


def test_piped_output_keeps_whole_lines() -> None:
    out = io.StringIO()
    view = TerminalView(out=out, live=False)
    view.update(snapshot(long_training()))
    view.close()
    assert out.getvalue().splitlines()[1].endswith("metric_6 0.5 · metric_7 0.5")
    assert "\x1b[" not in out.getvalue()


def test_no_color_is_respected(monkeypatch: pytest.MonkeyPatch) -> None:
    sgr_colour = re.compile(r"\x1b\[[0-9;]*3[0-9][;m]")
    coloured = io.StringIO()
    view = TerminalView(out=coloured, live=True)
    view.update(snapshot(training(status="completed", current=None)))
    view.close()
    monkeypatch.setenv("NO_COLOR", "1")
    plain = io.StringIO()
    view = TerminalView(out=plain, live=True)
    view.update(snapshot(training(status="completed", current=None)))
    view.close()
    assert sgr_colour.search(coloured.getvalue())
    assert not sgr_colour.search(plain.getvalue())
    assert "completed" in plain.getvalue()


def test_the_terminal_and_the_widget_order_metrics_and_fold_params_by_one_rule() -> None:
    """js/metrics.js orderMetrics and js/params.js paramRows, run by Node, on the same input."""
    import json
    import shutil
    import subprocess

    from tests.helpers import ROOT

    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed")
    cases = [
        ["accuracy", "loss", "mae", "val_accuracy", "val_loss", "val_mae", "val_extra", "lr"],
        ["val_loss", "loss"],
        ["b", "a", "val_b", "loss", "val_c"],
    ]
    params = {
        "epochs": 5,
        "optimizer": "Adam",
        "learning_rate": 0.0010000000474974513,
        "lr": 0.001,
        "opt": "sgd",
        "batch": 32,
        "dropout": 0.25,
    }
    script = (
        "Promise.all([import('./metrics.js'), import('./params.js')]).then(([m, p]) =>"
        " console.log(JSON.stringify({"
        f"order: {json.dumps(cases)}.map(c => m.orderMetrics(c)),"
        f"labels: p.paramRows([{{params: {json.dumps(params)}}}]).map(r => r.label)"
        "})))"
    )
    result = subprocess.run(
        ["node", "-e", script], cwd=ROOT / "js", capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    widget = json.loads(result.stdout)
    assert widget["order"] == [fmt.order_metrics(c) for c in cases]
    # The widget puts Keras' names first and sorts the rest; the rows are the same.
    assert sorted(widget["labels"]) == sorted(label for label, _ in fmt.param_rows(params))


@pytest.mark.parametrize(
    "connection, line",
    [
        ({}, None),
        ({"store_status": "connecting"}, None),
        ({"store_status": "polling"}, None),
        ({"store_status": "following", "store_detail": ""}, None),
        ({"store_status": "reconnecting", "store_detail": ""}, "store: reconnecting"),
        (
            {"store_status": "reconnecting", "store_detail": "unavailable:\n  refused"},
            "store: reconnecting (unavailable: refused)",
        ),
    ],
)
def test_store_line_only_when_the_store_is_not_working(
    connection: dict[str, object], line: str | None
) -> None:
    assert fmt.store_line(connection) == line


def with_store(snap: dict[str, object], status: str, detail: str = "") -> dict[str, object]:
    connection = {**snap["connection"], "store_status": status, "store_detail": detail}  # type: ignore[dict-item]
    return {**snap, "connection": connection}


def test_piped_view_tells_when_the_store_goes_and_comes_back_once_each() -> None:
    out = io.StringIO()
    view = TerminalView(out=out, live=False)
    view.update(with_store(snapshot(training()), "following"))
    view.update(with_store(snapshot(training()), "reconnecting", "refused"))
    view.update(with_store(snapshot(training()), "reconnecting", "timed out"))
    view.update(with_store(snapshot(training()), "following"))
    view.close()
    lines = [line for line in out.getvalue().splitlines() if line.startswith("store:")]
    assert lines == ["store: reconnecting (refused)", "store: back (following)"]


def test_live_view_shows_the_store_line_below_the_bars_while_it_lasts() -> None:
    out = io.StringIO()
    view = TerminalView(out=out, live=True)
    view.update(with_store(snapshot(training()), "reconnecting", "refused"))
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    assert "store: reconnecting (refused)" in drawn
    before = len(out.getvalue())
    view.update(with_store(snapshot(training()), "following"))
    assert "store:" not in out.getvalue()[before:]
    view.close()
