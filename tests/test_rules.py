"""Rules, judged by the pure `training.rules` module; the plateau rule against Keras' own
EarlyStopping, and a rule acting inside a real training in another process."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from dltrack.training.rules import Rule, RuleError, RuleState, evaluate
from tests.test_control import Child, backends, key  # noqa: F401 - fixtures

SEQUENCES = [
    [1.0, 0.9, 0.8, 0.85, 0.86, 0.7, 0.71],  # stops at the 2nd epoch without improvement
    [1.0, 1.0, 1.0, 0.5],  # equal is not better
    [0.5, 0.4, 0.3, 0.2, 0.1, 0.05],  # never stops
    [0.3, 0.4, 0.2, 0.25, 0.21, 0.19, 0.3, 0.3, 0.3],
    [2.0, 3.0],
]


def first_firing(rule: Rule, values: list[float]) -> int | None:
    state = RuleState()
    for epoch, value in enumerate(values):
        state, firing = evaluate(rule, state, epoch, {rule.metric: value}, 0.0)
        if firing is not None:
            return epoch
    return None


def keras_stop_epoch(values: list[float], patience: int) -> int | None:
    """The epoch after which a real fit() with EarlyStopping(patience) stops."""
    import keras
    import numpy as np

    class Script(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            assert logs is not None
            logs["val_loss"] = values[epoch]

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    early = keras.callbacks.EarlyStopping(patience=patience)
    x = np.zeros((4, 2), dtype="float32")
    history = model.fit(x, x[:, :1], epochs=len(values), verbose=0, callbacks=[Script(), early])
    done = len(history.epoch)
    return done - 1 if done < len(values) or early.stopped_epoch else None


@pytest.mark.slow
@pytest.mark.parametrize("patience", [1, 2, 3])
@pytest.mark.parametrize("values", SEQUENCES)
def test_plateau_fires_exactly_when_early_stopping_stops(
    values: list[float], patience: int
) -> None:
    rule = Rule.from_args(
        {"id": "p", "when": "plateau", "metric": "val_loss", "patience": patience, "action": "stop"}
    )
    assert first_firing(rule, values) == keras_stop_epoch(values, patience)


def test_thresholds_nan_and_time() -> None:
    above = Rule.from_args(
        {"id": "a", "when": "above", "metric": "val_acc", "value": 0.9, "action": "notify"}
    )
    assert first_firing(above, [0.5, 0.89, 0.9, 0.95]) == 2
    below = Rule.from_args({"id": "b", "when": "below", "value": 0.1, "action": "checkpoint"})
    assert first_firing(below, [0.5, 0.2, 0.1]) == 2
    nan = Rule.from_args({"id": "n", "when": "nan", "action": "stop"})
    assert first_firing(nan, [0.5, math.inf]) == 1
    assert first_firing(nan, [0.5, 0.4]) is None
    after = Rule.from_args({"id": "t", "when": "after", "value": 30, "action": "save_and_stop"})
    state, firing = evaluate(after, RuleState(), 0, {}, 29.9)
    assert firing is None
    state, firing = evaluate(after, state, 1, {}, 30.0)
    assert firing is not None and firing.message == "30.0 minutes elapsed"
    assert evaluate(after, state, 2, {}, 31.0)[1] is None  # once


def test_an_unseen_metric_waits_and_says_so() -> None:
    rule = Rule.from_args(
        {"id": "a", "when": "above", "metric": "val_f1", "value": 0.5, "action": "notify"}
    )
    state, firing = evaluate(rule, RuleState(), 0, {"loss": 1.0}, 0.0)
    assert firing is None and not state.seen
    state, firing = evaluate(rule, state, 1, {"val_f1": 0.7}, 0.0)
    assert state.seen and firing is not None


def test_plateau_counts_afresh_after_firing_like_reduce_lr_on_plateau() -> None:
    rule = Rule.from_args(
        {"id": "r", "when": "plateau", "patience": 2, "action": "set_lr", "factor": 0.5}
    )
    state, fired = RuleState(), []
    for epoch, value in enumerate([1.0, 1.0, 1.0, 1.0, 1.0, 0.5]):
        state, firing = evaluate(rule, state, epoch, {"loss": value}, 0.0)
        fired += [epoch] if firing else []
    assert fired == [2, 4]
    assert rule.describe() == "r: when loss not improved for 2 epoch(s) → set_lr x0.5"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"id": "x", "when": "soon", "action": "stop"}, "'when' must be one of"),
        ({"id": "x", "when": "nan", "action": "explode"}, "'action' must be one of"),
        ({"when": "nan", "action": "stop"}, "needs an 'id'"),
        ({"id": "x", "when": "above", "action": "stop"}, "needs value"),
        ({"id": "x", "when": "plateau", "action": "stop", "patience": 0}, "patience"),
        ({"id": "x", "when": "after", "value": -1, "action": "stop"}, "minutes above 0"),
        ({"id": "x", "when": "nan", "action": "set_lr", "factor": 0}, "factor above 0"),
        ({"id": "x", "when": "plateau", "patience": 1, "mode": "up", "action": "stop"}, "mode"),
    ],
)
def test_bad_rules_are_refused_with_the_reason(args: dict[str, Any], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        Rule.from_args(args)


def test_the_mode_follows_the_metric_name() -> None:
    base = {"id": "x", "when": "plateau", "patience": 1, "action": "stop"}
    assert Rule.from_args({**base, "metric": "val_accuracy"}).mode == "max"
    assert Rule.from_args({**base, "metric": "val_loss"}).mode == "min"


@pytest.mark.slow
def test_a_rule_saves_and_stops_a_real_training_where_early_stopping_would(
    key: str,  # noqa: F811 - the fixture: a model on the embedded default or on the servers
    tmp_path: Path,
) -> None:
    import keras

    from dltrack.backends import open_store
    from dltrack.wire import config
    from tests.helpers import wait_until

    values = SEQUENCES[0]
    rule = {
        "id": "plateau",
        "when": "plateau",
        "metric": "val_loss",
        "patience": 2,
        "action": "save_and_stop",
    }
    # Two identical trainings side by side (same seed, data and val_loss): one obeys the rule,
    # the other Keras' own EarlyStopping(patience=2).
    same = {"val_losses": values, "delay": 0.0, "epochs": len(values)}
    (tmp_path / "rule").mkdir()
    (tmp_path / "early").mkdir()
    ruled = Child(key, tmp_path / "rule", rules=[rule], **same)
    early = Child(key, tmp_path / "early", early_stopping=2, **same)
    try:
        assert ruled.finish(180)[0] == 0
        assert early.finish(180)[0] == 0
    finally:
        ruled.kill()
        early.kill()
    store = open_store(config.resolve(None, None).store_url)
    try:
        ended = wait_until(
            lambda: (
                done
                if len(done := [t for t in store.list_trainings(key) if t.status != "running"]) == 2
                else None
            ),
            30,
            "both ends in the store",
        )
        [t] = [t for t in ended if t.status == "stopped"]
        [by_keras] = [t for t in ended if t.status == "completed"]
        events = store.list_events(key, t.training_id)
    finally:
        store.close()
    assert by_keras.reason is not None and by_keras.reason.startswith("EarlyStopping")
    assert t.epochs_done == by_keras.epochs_done == keras_stop_epoch(values, 2) + 1  # type: ignore[operator]
    assert t.epochs_done < len(values)
    fired = [e for e in events if e["kind"] == "rule" and e["ok"]]
    assert len(fired) == 1 and "has not improved for 2 epoch(s)" in fired[0]["detail"]
    assert fired[0]["epoch"] == t.epochs_done - 1  # at the end of the epoch Keras stopped after
    saved = next(e for e in events if e["kind"] == "save_and_stop")
    assert keras.models.load_model(saved["values"]["path"]).count_params() > 0
    assert t.reason == "stopped by rule plateau"
