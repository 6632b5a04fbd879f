"""Rules: the training acts on its own at epoch end, even with every viewer closed.

A rule is *when* (a metric crossing a value, a metric not improving for N epochs, a NaN loss,
T minutes elapsed) → *action* (notify, checkpoint, stop, save_and_stop, set_lr xF). Everything
here is pure: the Tracker keeps one `RuleState` per rule and feeds `evaluate` each epoch's logs.
A rule travels as a flat dict of JSON scalars (`Rule.to_args`), the shape of a command's args.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

WHENS = ("above", "below", "plateau", "nan", "after")
ACTIONS = ("notify", "checkpoint", "stop", "save_and_stop", "set_lr")
MODES = ("min", "max")
# Metrics that get better as they grow; every other one (losses, errors) is minimised. Keras
# asks the metric object itself; a rule made in a viewer cannot, so the name decides.
_HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall", "f1", "iou")


class RuleError(ValueError):
    """A rule that cannot be evaluated; the message says what to change."""


def _number(args: dict[str, Any], name: str) -> float:
    value = args.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RuleError(f"rule needs {name} as a finite number, not {value!r}")
    return float(value)


@dataclass(frozen=True)
class Rule:
    id: str
    when: str
    action: str
    metric: str = "loss"
    value: float | None = None  # the threshold; minutes for `after`
    patience: int | None = None  # epochs without improvement, for `plateau`
    mode: str = "min"
    factor: float | None = None  # for `set_lr`

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> Rule:
        """A rule from its flat form; raises `RuleError` naming what is wrong."""
        when, action = args.get("when"), args.get("action")
        if when not in WHENS:
            raise RuleError(f"rule 'when' must be one of {', '.join(WHENS)}, not {when!r}")
        if action not in ACTIONS:
            raise RuleError(f"rule 'action' must be one of {', '.join(ACTIONS)}, not {action!r}")
        rule_id = args.get("id")
        if not isinstance(rule_id, str) or not 0 < len(rule_id) <= 40:
            raise RuleError("rule needs an 'id' (1 to 40 characters)")
        metric = args.get("metric") or "loss"
        if not isinstance(metric, str) or len(metric) > 100:
            raise RuleError("rule 'metric' must be a metric name such as val_loss")
        mode = args.get("mode") or default_mode(metric)
        if mode not in MODES:
            raise RuleError(f"rule 'mode' must be min or max, not {mode!r}")
        rule = cls(id=rule_id, when=when, action=action, metric=metric, mode=mode)
        if when in ("above", "below"):
            rule = replace(rule, value=_number(args, "value"))
        elif when == "after":
            minutes = _number(args, "value")
            if minutes <= 0:
                raise RuleError("rule 'after' needs a number of minutes above 0 as its value")
            rule = replace(rule, value=minutes)
        elif when == "plateau":
            patience = args.get("patience")
            if not isinstance(patience, int) or isinstance(patience, bool) or patience < 1:
                raise RuleError("rule 'plateau' needs patience, a whole number of epochs >= 1")
            rule = replace(rule, patience=patience)
        if action == "set_lr":
            factor = _number(args, "factor")
            if factor <= 0:
                raise RuleError(f"rule 'set_lr' needs a factor above 0, not {factor:g}")
            rule = replace(rule, factor=factor)
        return rule

    def to_args(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def describe(self) -> str:
        action = f"set_lr x{self.factor:g}" if self.action == "set_lr" else self.action
        if self.when == "above":
            cond = f"{self.metric} >= {self.value:g}"
        elif self.when == "below":
            cond = f"{self.metric} <= {self.value:g}"
        elif self.when == "plateau":
            cond = f"{self.metric} not improved for {self.patience} epoch(s)"
        elif self.when == "nan":
            cond = f"{self.metric} is NaN or infinite"
        else:
            cond = f"after {self.value:g} minute(s)"
        return f"{self.id}: when {cond} → {action}"


def default_mode(metric: str) -> str:
    name = metric.removeprefix("val_").lower()
    return "max" if any(word in name for word in _HIGHER_IS_BETTER) else "min"


@dataclass(frozen=True)
class RuleState:
    best: float | None = None
    wait: int = 0
    fired: bool = False
    seen: bool = False  # whether the rule's metric has appeared in the logs yet


@dataclass(frozen=True)
class Firing:
    rule: Rule
    message: str


def evaluate(
    rule: Rule, state: RuleState, epoch: int, logs: dict[str, float], minutes: float
) -> tuple[RuleState, Firing | None]:
    """Judge one rule at the end of `epoch` (0-based) given its logs and the minutes since
    the training started. A rule fires once, except `plateau`, which counts afresh after each
    firing (so `set_lr x0.5` on a plateau acts like ReduceLROnPlateau)."""
    if state.fired:
        return state, None
    if rule.when == "after":
        if minutes >= (rule.value or 0):
            return replace(state, fired=True), Firing(rule, f"{minutes:.1f} minutes elapsed")
        return state, None
    value = logs.get(rule.metric)
    if value is None:
        return state, None
    state = replace(state, seen=True)
    if rule.when == "nan":
        if not math.isfinite(value):
            return replace(state, fired=True), Firing(rule, f"{rule.metric} is {value}")
        return state, None
    if not math.isfinite(value):
        return state, None
    if rule.when == "above" and value >= (rule.value or 0):
        return replace(state, fired=True), Firing(rule, f"{rule.metric} = {value:.4g}")
    if rule.when == "below" and value <= (rule.value or 0):
        return replace(state, fired=True), Firing(rule, f"{rule.metric} = {value:.4g}")
    if rule.when == "plateau":
        return _plateau(rule, state, epoch, value)
    return state, None


def _plateau(
    rule: Rule, state: RuleState, epoch: int, value: float
) -> tuple[RuleState, Firing | None]:
    # Exactly keras.callbacks.EarlyStopping(patience=N, min_delta=0): the wait counts every
    # epoch, an improvement (strictly better than the best) resets it, and it fires once the
    # wait reaches the patience, never on the first epoch.
    wait = state.wait + 1
    better = state.best is None or (
        value < state.best if rule.mode == "min" else value > state.best
    )
    if better:
        return replace(state, best=value, wait=0), None
    if wait >= (rule.patience or 1) and epoch > 0:
        message = f"{rule.metric} has not improved for {wait} epoch(s) (best {state.best:.4g})"
        return replace(state, wait=0), Firing(rule, message)
    return replace(state, wait=wait), None
