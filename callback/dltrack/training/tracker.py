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
from dltrack.training.fit_frame import FitFrame
from dltrack.training.params import describe_training
from dltrack.training.session import Progress, StopInfo, TrainingSession, finish
from dltrack.training.store_writer import StoreWriter, keep_leftovers
from dltrack.wire import config, training_token
from dltrack.wire.errors import ConfigError, DltrackError, DltrackWarning
from dltrack.wire.keys import check_model_key, model_id, new_training_id
from dltrack.wire.protocol import STOP, STOP_AFTER_EPOCH, Command, clean_logs
from dltrack.wire.records import EpochRecord
from dltrack.wire.timing import BROKER_LINGER_S

log = logging.getLogger("dltrack")

# How long on_train_end waits for a broker thread that has no connection yet.


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
    ) -> None:
        super().__init__()
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
        session.hand_over("train_begin", {"params": params})
        session.store_ops.put(("start", {"params": params, "started_at": session.started_at}))
        link = BrokerLink(session, FitFrame.find())
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

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        s = self._session
        if s is None:
            return
        epoch = s.epoch or 0
        latest = s.latest
        if latest is not None and latest.epoch == epoch and latest.step > batch + 1:
            return  # an older batch's hook finishing late (Keras may use a thread pool)
        now = time.time()
        s.latest = Progress(epoch, batch + 1, self.params.get("steps"), logs or {}, now)
        s.batch_ended(now)
        request = s.stop_request
        if request is not None and request.kind == STOP and s.stop is None:
            self._honour(request, epoch, batch + 1)
        if s.notices:
            self._emit_notices()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        s = self._session
        if s is None:
            return
        latest = s.latest
        steps = latest.step if latest is not None and latest.epoch == epoch else None
        record = EpochRecord(
            epoch, clean_logs(logs), steps, s.epoch_started_at, time.time()
        ).to_json()
        s.epochs.append(record)
        s.hand_over("epoch_end", record, store_op="epoch_end")
        # The training's own row says how far it got while it runs, not only at the end.
        s.store_ops.put(("update", {"epochs_done": len(s.epochs), "last_seen": record["ended_at"]}))
        request = s.stop_request
        if request is not None and request.kind == STOP_AFTER_EPOCH and s.stop is None:
            self._honour(request, epoch, steps)
        self._emit_notices()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._restore_interrupt_handler()
        s = self._session
        if s is None:
            return
        if s.stop is not None:
            latest = s.latest
            if latest is not None and s.stop.command.kind == STOP:
                # Keras may have run a batch or two past the request (async dispatch): record
                # where it really stopped.
                s.stop.epoch, s.stop.step = latest.epoch, latest.step
            finish(s, "stopped", f"stopped by {s.stop.command.sender}")
        else:
            finish(s, "completed")
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
