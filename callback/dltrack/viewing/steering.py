"""The steering half of `Watcher`'s API: learning rate, pause/resume, checkpoints, rules.

Each method sends one command through `Watcher.send` and returns its id; its fate (sent →
acknowledged or refused → done or failed, with a result) shows in `snapshot()["commands"]`.
"""

from __future__ import annotations

from typing import Any

from dltrack.wire import protocol as p
from dltrack.wire.errors import ConfigError


class Steering:
    def send(
        self, kind: str, training_id: str | None = None, args: dict[str, Any] | None = None
    ) -> str:
        raise NotImplementedError

    def set_lr(
        self,
        value: float | None = None,
        *,
        factor: float | None = None,
        training_id: str | None = None,
    ) -> str:
        """Set the optimizer's learning rate to `value`, or multiply it by `factor`, from the
        next batch on. The result (old and new rate) is in the command's `result`."""
        if (value is None) == (factor is None):
            raise ConfigError("set_lr needs a value or a factor, not both")
        if value is not None:
            return self.send(p.SET_LR, training_id, {"value": _positive(value, "learning rate")})
        return self.send(p.SET_LR, training_id, {"factor": _positive(factor, "factor")})

    def pause(self, training_id: str | None = None) -> str:
        """Hold the training after the current batch, until `resume` (or a stop)."""
        return self.send(p.PAUSE, training_id)

    def resume(self, training_id: str | None = None) -> str:
        return self.send(p.RESUME, training_id)

    def checkpoint(self, training_id: str | None = None) -> str:
        """Save the model (`.keras`) where it trains, after the current batch; the path and
        size are in the command's `result`."""
        return self.send(p.CHECKPOINT, training_id)

    def add_rule(self, rule: dict[str, Any], training_id: str | None = None) -> str:
        """Attach a rule (docs/control.md), e.g. `{"id": "r1", "when": "plateau",
        "metric": "val_loss", "patience": 2, "action": "save_and_stop"}`."""
        return self.send(p.ADD_RULE, training_id, rule)

    def remove_rule(self, rule_id: str, training_id: str | None = None) -> str:
        return self.send(p.REMOVE_RULE, training_id, {"id": rule_id})


def _positive(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(f"the {what} must be a number above 0, not {value!r}")
    if value == float("inf"):
        raise ConfigError(f"the {what} must be finite, not {value!r}")
    return float(value)


def event_text(event: dict[str, Any]) -> str:
    """A terminal line for one event."""
    where = f" at epoch {event['epoch'] + 1}" if isinstance(event.get("epoch"), int) else ""
    failed = " FAILED" if event.get("ok") is False else ""
    by = f" (by {event['sender']})" if event.get("sender") else ""
    return f"  · {event['kind']}{failed}{where}: {event.get('detail') or ''}{by}"
