"""The whole run's per-batch curve: bounded, evenly dense, spikes kept, and fed by the reducer."""

from __future__ import annotations

from dltrack.viewing import batches as b
from dltrack.viewing import state as st
from dltrack.wire import protocol as p
from tests.test_state import MID, Feed, fold, only


def _series(losses: list[float]) -> b.BatchSeries:
    series = b.BatchSeries()
    for step, loss in enumerate(losses, start=1):
        series = b.add(series, (step / 100, step, step * 0.1, loss))
    return series


def test_short_runs_are_kept_whole() -> None:
    out = b.to_json(_series([3.0, 2.0, 1.0]))
    assert out == {
        "epoch": [0.01, 0.02, 0.03],
        "step": [1, 2, 3],
        "time": [0.1, 0.2, 0.3],
        "loss": [3.0, 2.0, 1.0],
    }
    assert b.to_json(b.BatchSeries()) is None


def test_a_long_run_is_bounded_in_order_with_its_spike_and_its_latest_sample() -> None:
    losses = [1.0] * 50_000
    losses[31_337] = 99.0
    out = b.to_json(_series(losses))
    assert out is not None
    assert len(out["step"]) <= b.MAX_POINTS + 2
    assert out["step"] == sorted(out["step"])
    assert 99.0 in out["loss"]
    assert out["step"][-1] == 50_000  # the pending bucket shows too


def test_density_is_even_over_the_run() -> None:
    out = b.to_json(_series([float(i % 7) for i in range(20_000)]))
    assert out is not None
    steps = out["step"]
    first_half = sum(1 for s in steps if s <= 10_000)
    assert abs(first_half - (len(steps) - first_half)) < len(steps) * 0.1


def test_values_are_rounded_for_the_trait() -> None:
    out = b.to_json(b.add(b.BatchSeries(), (0.123456789, 7, 1.23456, 0.0010000000474974513)))
    assert out == {"epoch": [0.1235], "step": [7], "time": [1.23], "loss": [0.001]}


def test_the_reducer_numbers_steps_across_epochs() -> None:
    f = Feed()
    s = fold(st.MonitorState(MID), f.msg(p.TRAIN_BEGIN, params={"epochs": 2, "steps": 10}))
    for epoch in range(2):
        s = fold(s, f.msg(p.EPOCH_BEGIN, epoch=epoch))
        for step in (5, 10):
            logs = {"loss": 1.0 / (epoch * 10 + step)}
            s = fold(s, f.msg(p.PROGRESS, epoch=epoch, step=step, steps=10, logs=logs))
        s = fold(s, f.msg(p.EPOCH_END, epoch=epoch, logs={"loss": 0.5}, steps=10))
    out = only(s)["batches"]
    assert out["step"] == [5, 10, 15, 20]
    assert out["epoch"] == [0.5, 1.0, 1.5, 2.0]
    assert out["loss"] == [0.2, 0.1, 0.066667, 0.05]
    assert out["time"] == sorted(out["time"]) and out["time"][0] > 0


def test_the_reducer_skips_a_loss_that_is_not_a_number() -> None:
    f = Feed()
    s = fold(st.MonitorState(MID), f.msg(p.EPOCH_BEGIN, epoch=0))
    s = fold(s, f.msg(p.PROGRESS, epoch=0, step=1, steps=None, logs={"accuracy": 0.5}))
    assert only(s)["batches"] is None
    s = fold(s, f.msg(p.PROGRESS, epoch=0, step=2, steps=None, logs={"loss": 0.5}))
    assert only(s)["batches"]["epoch"] == [None]  # no step count: no epoch position
