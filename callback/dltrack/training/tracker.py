"""`Tracker`: the Keras callback that streams a training to dltrack viewers."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
import types
import warnings
from typing import Any

import keras

from dltrack.training.broker_link import BrokerLink
from dltrack.training.control import Controller
from dltrack.training.end_reason import fit_callbacks, stopped_by_callback, watch_exceptions
from dltrack.training.fit_frame import FitFrame
from dltrack.training.params import describe_training
from dltrack.training.rules import Rule, RuleError
from dltrack.training.session import Progress, StopInfo, TrainingSession, finish
from dltrack.training.store_writer import StoreWriter, keep_leftovers
from dltrack.training.webhook import check_url
from dltrack.wire import config, training_token
from dltrack.wire.errors import ConfigError, DltrackError, DltrackWarning
from dltrack.wire.keys import check_model_key, model_id, new_training_id
from dltrack.wire.protocol import (
    ADD_RULE,
    SAVE_AND_STOP,
    STOP,
    STOP_AFTER_EPOCH,
    Command,
    CommandKind,
    clean_logs,
    non_finite_logs,
)
from dltrack.wire.records import EpochRecord
from dltrack.wire.timing import BROKER_LINGER_S

log = logging.getLogger("dltrack")


class Tracker(keras.callbacks.Callback):  # type: ignore[misc]  # Keras ships no types
    """Stream a training's progress to dltrack viewers and obey their stop commands.

    Every hook does constant work on the training thread (a reference swap or a deque append);
    two background threads publish live updates, write epoch records to the store (through an
    on-disk spool, so an outage loses nothing) and listen for commands. A problem with the
    broker, the store or the key produces one warning and never an exception in `fit()`.

    Pressing Ctrl-C (or Jupyter's interrupt button) during `fit()` asks for a graceful stop
    after the current batch; a second press interrupts as usual.

    Args:
        model_key: The key printed by `dltrack models create NAME`. Defaults to the key in
            `DLTRACK_TRAINING_TOKEN` (`dltrack grant`), where that is set.
        params: Extra hyper-parameters to record with the training (JSON scalars).
            Defaults to `None`.
        broker: Broker URL (`amqp://…`, `amqps://…`, `sqlite:///…`). Defaults to
            `DLTRACK_BROKER_URL`, else the local default under `DLTRACK_HOME`.
        store: Store URL (`firestore://PROJECT`, `sqlite:///…`). Defaults to
            `DLTRACK_STORE_URL`, else the local default.
        shutdown_timeout: Seconds `on_train_end` waits for records still on their way to
            the store. Defaults to `5.0`.
        handle_interrupt: Turn the first Ctrl-C during `fit()` into a graceful stop.
            Defaults to `True`.
        checkpoint_dir: Where `checkpoint` and save-and-stop write `.keras` files, in a
            folder per training. Defaults to `dltrack-checkpoints` under the working directory.
        pause_timeout: Seconds a pause lasts at most before the training resumes by itself.
            Defaults to `None` (until resumed or stopped).
        rules: Rules the training obeys from the start, as dicts like
            `{"id": "plateau", "when": "plateau", "metric": "val_loss", "patience": 2,
            "action": "save_and_stop"}` (see docs/control.md). Defaults to none.
        webhook: An `http(s)://` URL that each `notify` rule's firing is POSTed to as
            JSON, from a background thread. It is kept on the training side only: never
            sent to viewers, the store or the logs; a failure is warned about once, naming
            only its host. Defaults to `None`.

    Example:

    ```python
    from dltrack import Tracker
    model.fit(x, y, epochs=20, callbacks=[Tracker("Jx3…your key…")])
    ```
    """

    # Keras may run batch-end hooks of async-safe callbacks off the training thread; ours
    # only swaps a reference, so it does not need to force synchronous dispatch.
    async_safe = True

    def __init__(
        self,
        model_key: str | None = None,
        *,
        params: dict[str, Any] | None = None,
        broker: str | None = None,
        store: str | None = None,
        shutdown_timeout: float = 5.0,
        handle_interrupt: bool = True,
        checkpoint_dir: str | None = None,
        pause_timeout: float | None = None,
        rules: list[dict[str, Any]] | None = None,
        webhook: str | None = None,
    ) -> None:
        super().__init__()
        if pause_timeout is not None and not pause_timeout > 0:
            raise DltrackError(f"pause_timeout must be seconds above 0, not {pause_timeout!r}")
        try:
            self.rules = [Rule.from_args(r) for r in rules or []]
        except RuleError as exc:
            raise DltrackError(str(exc)) from None
        self.checkpoint_dir = checkpoint_dir
        self.pause_timeout = pause_timeout
        self.webhook = check_url(webhook) if webhook is not None else None
        self._controller: Controller | None = None
        self._undo_watch: Any = None
        self.model_key = model_key
        self.user_params = dict(params or {})
        self.broker_url = broker
        self.store_url = store
        self.shutdown_timeout = shutdown_timeout
        self.handle_interrupt = handle_interrupt
        self.training_id: str | None = None
        self._session: TrainingSession | None = None
        self._threads: list[threading.Thread] = []
        self._previous_sigint: Any = None
        self._interrupts = 0
        self._fit: FitFrame | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        # A previous fit() that raised never reached on_train_end: undo what it left behind.
        self._restore_interrupt_handler()
        self._session = None
        self._threads = []
        try:
            self._begin()
        except DltrackError as exc:
            self._warn(f"dltrack: not tracking this training: {exc}")
        except Exception as exc:  # never break the user's fit()
            log.debug("dltrack failed to start", exc_info=True)
            self._warn(f"dltrack: not tracking this training (internal error: {exc!r})")

    def _begin(self) -> None:
        token = training_token.from_env()
        if self.model_key is None and token is not None:
            self.model_key = token.model_key
        if self.model_key is None:
            raise DltrackError(
                "Tracker needs a model key: Tracker('KEY'), see `dltrack models create`"
            )
        key = check_model_key(self.model_key)
        if token is not None and token.model_key != key:
            raise ConfigError(
                f"{training_token.ENV} was granted for model {model_id(token.model_key)}, not "
                f"{model_id(key)}: run `dltrack grant KEY` for this model"
            )
        settings = config.resolve(self.broker_url, self.store_url)
        self.training_id = new_training_id()
        params = describe_training(self.model, self.params, self.user_params)
        session = TrainingSession(
            settings=settings,
            model_key=key,
            training_id=self.training_id,
            params=params,
            shutdown_timeout=self.shutdown_timeout,
        )
        self._session = session
        controller = Controller(
            session, self.model, self.checkpoint_dir, self.pause_timeout, self.rules, self.webhook
        )
        self._controller = controller
        session.lr = controller.current_lr()
        self._undo_watch = watch_exceptions(self.model, session)
        session.hand_over("train_begin", {"params": params})
        session.store_ops.put(("start", {"params": params, "started_at": session.started_at}))
        for rule in self.rules:  # as events, so that every viewer can list the rules
            session.event(
                ADD_RULE, detail=rule.describe(), values=rule.to_args(), where=(None, None)
            )
        self._fit = FitFrame.find()
        link = BrokerLink(session, self._fit, controller)
        writer = StoreWriter(session)
        self._threads = [
            threading.Thread(target=link.run, name="dltrack-broker", daemon=True),
            threading.Thread(target=writer.run, name="dltrack-store", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        # Not joined: it ends with the broker thread, and only ever waits on an Event.
        threading.Thread(target=link.relay, name="dltrack-relay", daemon=True).start()
        self._install_interrupt_handler()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        s = self._session
        if s is None:
            return
        self._emit_notices()
        s.epoch = epoch
        s.epoch_started_at = time.time()
        s.hand_over("epoch_begin", {"epoch": epoch})

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        # Keras always calls this one on the training thread (batch-end hooks may run in a
        # pool), so commands that change the model or hold the training are carried out here.
        s = self._session
        if s is not None and s.pending and self._controller is not None:
            self._controller.run_pending()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        s = self._session
        if s is None:
            return
        epoch = s.epoch or 0
        steps = self.params.get("steps")
        # With steps_per_execution, Keras reports the end of a chunk, which for the last
        # chunk may lie past the epoch's real end (24 of 23).
        step = min(batch + 1, steps) if steps else batch + 1
        latest = s.latest
        if latest is not None and latest.epoch == epoch and latest.step > step:
            return  # an older batch's hook finishing late (Keras may use a thread pool)
        now = time.time()
        s.latest = Progress(epoch, step, steps, logs or {}, now)
        s.batch_ended(now)
        request = s.stop_request
        if request is not None and request.kind in (STOP, SAVE_AND_STOP) and s.stop is None:
            self._honour(request, epoch, step)
        if s.notices:
            self._emit_notices()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        s = self._session
        if s is None:
            return
        latest = s.latest
        steps = latest.step if latest is not None and latest.epoch == epoch else None
        controller = self._controller
        lr = controller.current_lr() if controller is not None else None
        s.lr = lr if lr is not None else s.lr
        # The rate the epoch ran with, so that it can be charted beside the metrics.
        with_lr = (
            {**(logs or {}), "lr": lr} if lr is not None and "lr" not in (logs or {}) else logs
        )
        # A NaN or infinite metric is kept as a marker beside the finite logs (JSON has none).
        record = EpochRecord(
            epoch,
            clean_logs(with_lr),
            steps,
            s.epoch_started_at,
            time.time(),
            non_finite_logs(logs),
        ).to_json()
        s.epochs.append(record)
        s.hand_over("epoch_end", record)
        # The training's own row says how far it got while it runs, not only at the end: one
        # op with the epoch, so that the store thread writes both in one batch.
        progress = {"epochs_done": len(s.epochs), "last_seen": record["ended_at"]}
        s.store_ops.put(("epoch_end", {"record": record, "update": progress}))
        if controller is not None and s.stop is None:
            for action, rule_id in controller.on_epoch_end(epoch, _floats(logs)):
                rule_stop: CommandKind = (
                    SAVE_AND_STOP if action == "save_and_stop" else STOP_AFTER_EPOCH
                )
                sender = f"rule {rule_id}"
                s.stop_request = Command.new(rule_stop, s.model_key, s.training_id, sender)
                self._honour(s.stop_request, epoch, steps)
                break
        request = s.stop_request
        if request is not None and request.kind == STOP_AFTER_EPOCH and s.stop is None:
            self._honour(request, epoch, steps)
        self._emit_notices()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._restore_interrupt_handler()
        s = self._session
        if s is None:
            return
        if self._undo_watch is not None:
            self._undo_watch()
        self._finish(s)
        if self._controller is not None:
            self._controller.close()
        # One deadline for both threads: the wait is shutdown_timeout in all, never one each.
        deadline = time.monotonic() + self.shutdown_timeout
        for thread in self._threads:
            wait = max(0.0, deadline - time.monotonic())
            if thread.name == "dltrack-broker" and not s.broker_connected:
                # No connection to send train_end through: give a connect under way a moment,
                # not the whole timeout (a hung broker would take it all, for nothing).
                wait = min(wait, BROKER_LINGER_S)
            thread.join(timeout=wait)
        if any(t.name == "dltrack-store" and t.is_alive() for t in self._threads):
            # The store thread is stuck in a call to an unreachable store: put what it has not
            # taken yet in the spool ourselves (local disk, a few rows), or a script exiting now
            # would lose the last epochs with the process.
            s.left_in_spool = keep_leftovers(s)
        self._emit_notices()
        if s.left_in_spool:
            self._warn(
                f"dltrack: {s.left_in_spool} record(s) of this training could not reach the "
                f"store in {self.shutdown_timeout:g}s; they wait in {s.settings.spool_dir} and "
                "are written by the next training or `dltrack sync`"
            )

    # -- stopping ---------------------------------------------------------------------------

    def _finish(self, s: TrainingSession) -> None:
        """Hand over the end, saying truthfully why the training ended."""
        if s.stop is not None:
            latest = s.latest
            command = s.stop.command
            if latest is not None and command.kind in (STOP, SAVE_AND_STOP):
                # Keras may have run a batch or two past the request (async dispatch): record
                # where it really stopped.
                s.stop.epoch, s.stop.step = latest.epoch, latest.step
            if command.kind == SAVE_AND_STOP and self._controller is not None:
                self._controller.checkpoint(command, kind=SAVE_AND_STOP)
            reason = f"stopped by {command.sender}"
            cause = (
                "Ctrl-C"
                if command.sender.startswith("interrupt")
                else ("rule" if command.sender.startswith("rule ") else "dltrack command")
            )
            s.event("end", detail=reason, command=command, values={"cause": cause})
            finish(s, "stopped", reason)
            return
        planned = self.params.get("epochs")
        if self.model is not None and self.model.stop_training:
            last = s.latest.logs if s.latest is not None else None
            cause, reason = stopped_by_callback(
                fit_callbacks(self._fit.frame if self._fit else None), last, len(s.epochs)
            )
            s.event("end", detail=reason, values={"cause": cause})
            finish(s, "completed", reason)
            return
        s.event(
            "end",
            detail=f"all {planned or len(s.epochs)} epoch(s) done",
            values={"cause": "completed"},
        )
        finish(s, "completed")

    def _honour(self, request: Command, epoch: int, step: int | None) -> None:
        s = self._session
        assert s is not None
        s.stop = StopInfo(request, epoch, step)
        self.model.stop_training = True

    def _install_interrupt_handler(self) -> None:
        self._interrupts = 0
        if not self.handle_interrupt or threading.current_thread() is not threading.main_thread():
            return
        try:
            self._previous_sigint = signal.signal(signal.SIGINT, self._on_interrupt)
        except (ValueError, OSError):  # not allowed here (embedded interpreter, …)
            self._previous_sigint = None

    def _restore_interrupt_handler(self) -> None:
        if self._previous_sigint is not None:
            try:
                signal.signal(signal.SIGINT, self._previous_sigint)
            except (ValueError, OSError):
                log.debug("could not restore the SIGINT handler", exc_info=True)
            self._previous_sigint = None

    def _on_interrupt(self, signum: int, frame: types.FrameType | None) -> None:
        s = self._session
        self._interrupts += 1
        if s is None or self._interrupts > 1 or s.ended.is_set():
            self._restore_interrupt_handler()
            if s is not None:
                finish(s, "failed", "interrupted at once by a second Ctrl-C")
            raise KeyboardInterrupt
        s.stop_request = Command.new(STOP, s.model_key, s.training_id, "interrupt (Ctrl-C)")
        s.unpause.set()  # a paused training stops now
        print(
            "dltrack: stopping after the current batch (interrupt again to stop at once)",
            file=sys.stderr,
        )

    # -- warnings ---------------------------------------------------------------------------

    def _emit_notices(self) -> None:
        s = self._session
        while s is not None and s.notices:
            self._warn(s.notices.popleft())

    @staticmethod
    def _warn(message: str) -> None:
        try:
            warnings.warn(message, DltrackWarning, stacklevel=3)
        except Exception:  # noqa: BLE001 - a warnings filter set to 'error' must not break fit()
            log.warning(message)


def _floats(logs: dict[str, Any] | None) -> dict[str, float]:
    """Epoch logs as floats, NaN included (a rule may be watching for it)."""
    out: dict[str, float] = {}
    for name, value in (logs or {}).items():
        try:
            out[str(name)] = float(value)
        except (TypeError, ValueError):
            continue
    return out
