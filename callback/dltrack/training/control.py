"""Steering a running training: learning rate, pause/resume, checkpoints, rules.

Two halves. The broker thread calls `Controller.check` on each command as it arrives, so
that a bad value is refused in the acknowledgement at once, and queues the accepted ones in
`session.pending`. The training thread calls `Controller.run_pending` at the start of the next
batch (Keras calls `on_train_batch_begin` on the training thread, whereas batch-end hooks of
async-safe callbacks may run in a thread pool) and carries them out there, where the model may
safely change. Each command carried out becomes an event; its result is in the event.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any, TypeGuard

from dltrack.training.end_reason import exception_summary
from dltrack.training.rules import Rule, RuleError, RuleState, evaluate
from dltrack.training.session import TrainingSession
from dltrack.training.webhook import Webhook
from dltrack.wire.keys import model_id
from dltrack.wire.protocol import (
    ADD_RULE,
    CHECKPOINT,
    PAUSE,
    REMOVE_RULE,
    RESUME,
    SAVE_AND_STOP,
    SET_LR,
    STOP,
    Command,
)

log = logging.getLogger("dltrack")

CHECKPOINT_ROOT = "dltrack-checkpoints"
MAX_RULES = 20


def schedule_refusal(optimizer: Any) -> str | None:
    """Why the optimizer's learning rate cannot be set, or None when it can."""
    import keras

    if optimizer is None:
        return "the model has no optimizer yet"
    # LossScaleOptimizer and friends forward to the optimizer they wrap.
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    rate = getattr(inner, "_learning_rate", None)
    if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule) or callable(rate):
        return (
            f"the learning rate is a {type(rate).__name__} schedule, which cannot be set while "
            "it runs: compile with a plain number as learning_rate to steer it, or attach a "
            "rule with action stop/save_and_stop instead"
        )
    return None


def lr_target(command: Command, current: float) -> float:
    """The rate a set_lr asks for (`value`, or `factor` x the current one); raises ValueError."""
    if "factor" in command.args:
        factor = command.args["factor"]
        if not _finite(factor) or factor <= 0:
            raise ValueError(f"a learning-rate factor must be a number above 0, not {factor!r}")
        target = current * float(factor)
    else:
        value = command.args.get("value")
        if not _finite(value):
            raise ValueError(f"a learning rate must be a finite number, not {value!r}")
        target = float(value)
    if not (target > 0 and math.isfinite(target)):
        raise ValueError(f"a learning rate must be above 0, not {target:g}")
    return target


def _finite(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class Controller:
    def __init__(
        self,
        session: TrainingSession,
        model: Any,
        checkpoint_dir: str | os.PathLike[str] | None,
        pause_timeout: float | None,
        rules: list[Rule],
        webhook: str | None = None,
    ) -> None:
        self.session = session
        # Its failures become warnings the Tracker shows on the training thread.
        self.webhook = Webhook(webhook, session.notices.append) if webhook else None
        self.model = model
        root = Path(checkpoint_dir) if checkpoint_dir is not None else Path(CHECKPOINT_ROOT)
        # Per training id, not per model key: the key is a secret and the path goes into acks,
        # events and the store.
        self.checkpoint_dir = root.absolute() / session.training_id
        self.pause_timeout = pause_timeout
        self.rules: dict[str, tuple[Rule, RuleState]] = {r.id: (r, RuleState()) for r in rules}
        self._said_unseen: set[str] = set()

    # -- broker thread ----------------------------------------------------------------------

    def check(self, command: Command) -> str | None:
        """Why `command` must be refused, or None to accept it. Reads, never changes, the model."""
        kind = command.kind
        if kind == SET_LR:
            refusal = schedule_refusal(getattr(self.model, "optimizer", None))
            if refusal:
                return refusal
            try:
                lr_target(command, self.session.lr or 1.0)
            except ValueError as exc:
                return str(exc)
        elif kind in (CHECKPOINT, SAVE_AND_STOP):
            return self._unwritable()
        elif kind == ADD_RULE:
            try:
                Rule.from_args(command.args)
            except RuleError as exc:
                return str(exc)
            if len(self.rules) >= MAX_RULES:
                return f"a training holds at most {MAX_RULES} rules: remove one first"
        elif kind == REMOVE_RULE and not isinstance(command.args.get("id"), str):
            return "remove_rule needs the rule's id"
        elif kind == RESUME and self.session.paused_since is None and not self._pause_queued():
            return "the training is not paused"
        return None

    def accept(self, command: Command) -> None:
        self.session.pending.append(command)
        if command.kind == RESUME:
            self.session.unpause.set()

    def _pause_queued(self) -> bool:
        return any(c.kind == PAUSE for c in list(self.session.pending))

    def _unwritable(self) -> str | None:
        try:
            self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return f"cannot write checkpoints to {self.checkpoint_dir}: {exc.strerror or exc}"
        if not os.access(self.checkpoint_dir, os.W_OK):
            return (
                f"cannot write checkpoints to {self.checkpoint_dir}: not writable; "
                "pass Tracker(checkpoint_dir=…) a writable directory"
            )
        return None

    # -- training thread --------------------------------------------------------------------

    def run_pending(self) -> None:
        s = self.session
        while s.pending:
            command = s.pending.popleft()
            try:
                self._run(command)
            except Exception as exc:  # never let a command break the user's fit()
                log.debug("a command failed", exc_info=True)
                s.event(
                    command.kind,
                    ok=False,
                    detail=f"{type(exc).__name__}: {exc}"[:200],
                    command=command,
                )

    def _run(self, command: Command) -> None:
        s = self.session
        kind = command.kind
        if kind == SET_LR:
            self.set_lr(command)
        elif kind == CHECKPOINT:
            self.checkpoint(command)
        elif kind == PAUSE:
            self.pause(command)
        elif kind == RESUME:
            s.event(RESUME, detail="was not paused", command=command)
        elif kind == ADD_RULE:
            rule = Rule.from_args(command.args)
            self.rules[rule.id] = (rule, RuleState())
            s.event(ADD_RULE, detail=rule.describe(), command=command, values=rule.to_args())
        elif kind == REMOVE_RULE:
            removed = self.rules.pop(str(command.args["id"]), None)
            s.event(
                REMOVE_RULE,
                ok=removed is not None,
                detail=removed[0].describe() if removed else "no rule with this id",
                command=command,
                values={"id": command.args["id"]},
            )

    def current_lr(self) -> float | None:
        optimizer = getattr(self.model, "optimizer", None)
        try:
            return float(optimizer.learning_rate) if optimizer is not None else None
        except (TypeError, ValueError, AttributeError):
            return None

    def set_lr(self, command: Command) -> None:
        s = self.session
        refusal = schedule_refusal(self.model.optimizer)
        old = self.current_lr()
        if refusal or old is None:
            s.event(SET_LR, ok=False, detail=refusal or "no learning rate", command=command)
            return
        new = lr_target(command, old)
        self.model.optimizer.learning_rate = new
        s.lr = self.current_lr()
        s.event(
            SET_LR,
            detail=f"learning rate {old:.4g} → {s.lr:.4g}",
            command=command,
            values={"old": old, "new": s.lr},
        )

    def checkpoint(self, command: Command | None, kind: str = CHECKPOINT) -> None:
        s = self.session
        refusal = self._unwritable()
        if refusal:
            s.event(kind, ok=False, detail=refusal, command=command)
            return
        latest = s.latest
        where = f"epoch{(s.epoch or 0) + 1}-step{latest.step if latest else 0}"
        path = self.checkpoint_dir / f"{where}-{int(time.time())}.keras"
        # Written beside, then renamed: a failed save leaves no half file to be loaded later.
        fd, tmp = tempfile.mkstemp(suffix=".keras", dir=self.checkpoint_dir)
        os.close(fd)
        try:
            self.model.save(tmp)
            os.replace(tmp, path)
        except Exception as exc:  # noqa: BLE001 - any save error is the answer, not a crash
            Path(tmp).unlink(missing_ok=True)
            s.event(kind, ok=False, detail=exception_summary(exc), command=command)
            return
        size = path.stat().st_size
        s.event(
            kind,
            detail=f"saved {path} ({size / 1e6:.1f} MB)",
            command=command,
            values={"path": str(path)[:200], "bytes": size},
        )

    def pause(self, command: Command) -> None:
        s = self.session
        if s.stop_request is not None and s.stop_request.kind in (STOP, SAVE_AND_STOP):
            return  # stopping anyway: a pause would only delay it
        s.unpause.clear()
        # A resume queued with (or before) this pause is carried out after it: let it through.
        if any(c.kind == RESUME for c in list(s.pending)):
            s.unpause.set()
        s.paused_since = time.time()
        epoch, latest = s.epoch or 0, s.latest
        step = latest.step if latest is not None and latest.epoch == epoch else 0
        # Epochs 1-based, as every viewer shows them; the step counts the batches done.
        s.event(PAUSE, detail=f"paused at epoch {epoch + 1}, step {step}", command=command)
        s.wake.set()  # the next heartbeat says "paused since …" at once
        # Blocks the training thread only; the broker thread keeps heartbeats and commands
        # going, and resume, a stop or Ctrl-C set `unpause`.
        resumed = s.unpause.wait(self.pause_timeout)
        paused_for = time.time() - s.paused_since
        s.paused_since = None
        if resumed:
            detail = f"after {paused_for:.0f}s"
        else:
            detail = f"by itself: the pause limit of {self.pause_timeout:g}s was reached"
        s.event(
            RESUME,
            detail=detail,
            command=self._take_queued(RESUME),
            values={"seconds": round(paused_for, 3)},
        )
        s.wake.set()

    def _take_queued(self, kind: str) -> Command | None:
        for queued in list(self.session.pending):
            if queued.kind == kind:
                self.session.pending.remove(queued)
                return queued
        return None

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> list[tuple[str, str]]:
        """Judge the rules; carry out what fired. Returns (action, rule id) for each rule
        that asks for a stop."""
        s = self.session
        minutes = (time.time() - s.started_at) / 60
        stops = []
        for rule_id, (rule, state) in list(self.rules.items()):
            new_state, firing = evaluate(rule, state, epoch, logs, minutes)
            self.rules[rule_id] = (rule, new_state)
            if not new_state.seen and rule.when != "after" and rule_id not in self._said_unseen:
                self._said_unseen.add(rule_id)
                s.event(
                    "rule",
                    ok=False,
                    detail=f"{rule.id}: metric {rule.metric} not seen yet",
                    values=rule.to_args(),
                )
            if firing is None:
                continue
            event = s.event(
                "rule", detail=f"{rule.describe()}: {firing.message}", values=rule.to_args()
            )
            if rule.action == "notify" and self.webhook is not None:
                # The public id, never the key: the body leaves for a third party.
                where = {"model_id": model_id(s.model_key), "training_id": s.training_id}
                self.webhook.post({**where, "number": s.number, "event": event})
            if rule.action == "checkpoint":
                self.checkpoint(None)
            elif rule.action == "set_lr":
                factor = Command.new(
                    SET_LR, s.model_key, s.training_id, f"rule {rule.id}", {"factor": rule.factor}
                )
                self.set_lr(factor)
            elif rule.action in ("stop", "save_and_stop"):
                stops.append((rule.action, rule.id))
        return stops

    def close(self) -> None:
        """At the end of fit(): give notifications still queued a moment to leave."""
        if self.webhook is not None:
            self.webhook.close()
