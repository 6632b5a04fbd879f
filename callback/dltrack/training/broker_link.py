"""The training's broker thread: publishes updates, listens for commands, acknowledges them.

It owns the broker connection (pika connections belong to one thread). Live updates are
best-effort: while the broker is away they are dropped, and the heartbeat that follows the
reconnect carries the full current state, so viewers catch up. Epoch records do not depend on
this thread at all; the store thread keeps them.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from dltrack.backends import open_broker
from dltrack.backends.reconnect import BrokerLine, Reconnecting
from dltrack.training.control import Controller
from dltrack.training.end_reason import exception_summary
from dltrack.training.fit_frame import FitFrame
from dltrack.training.session import TrainingSession, finish
from dltrack.wire.config import mask_url
from dltrack.wire.errors import BackendError, DltrackError
from dltrack.wire.protocol import (
    ACK,
    HEARTBEAT,
    PROGRESS,
    SAVE_AND_STOP,
    STOP,
    STOP_AFTER_EPOCH,
    STOP_KINDS,
    Command,
    UpdateType,
    clean_logs,
    make_update,
    parse_command,
)
from dltrack.wire.timing import (
    COMMAND_MAX_AGE_S,
    COMMAND_POLL_S,
    HEARTBEAT_INTERVAL_S,
    LIVE_RECONNECT_CAP_S,
    LIVENESS_CHECK_S,
    PROGRESS_INTERVAL_S,
    PROGRESS_SLACK_S,
)

log = logging.getLogger("dltrack")


class BrokerLink:
    def __init__(
        self, session: TrainingSession, fit: FitFrame, controller: Controller | None = None
    ) -> None:
        self.session = session
        self.controller = controller
        self.line = Reconnecting(
            self._open_line,
            cap=LIVE_RECONNECT_CAP_S,
            on_failure=self._on_failure,
            on_recovered=lambda: log.info("dltrack: reconnected to the broker"),
        )
        self.seq = 0
        self.sent_progress: tuple[int, int] | None = None
        self.sent_batch_at = 0.0  # Progress.at of the batch last reported
        self.heartbeat_at = 0.0
        self.announced: int | None = None  # the training number viewers were last told
        self.liveness_at = 0.0
        self.seen_commands: set[str] = set()
        self.ignored_commands = 0
        self._fit = fit

    # -- connection -------------------------------------------------------------------------

    def _open_line(self) -> BrokerLine:
        s = self.session
        line = BrokerLine(
            open_broker(s.settings.broker_url),
            lambda broker: broker.listen_commands(s.model_key, s.training_id),
        )
        self.line.succeeded()  # nothing to wait for: listening went through the server
        s.broker_connected = True
        self.heartbeat_at = 0.0  # announce the full state straight away
        return line

    def _on_failure(self, exc: DltrackError, delay: float) -> None:
        s = self.session
        s.broker_connected = False
        s.notice(
            "broker",
            f"dltrack: live updates paused, broker {mask_url(s.settings.broker_url)} "
            f"unavailable ({exc}); retrying in the background, training continues",
        )

    def _publish(self, message_type: UpdateType, **body: Any) -> None:
        line = self.line.connection
        if line is None:
            return
        s = self.session
        self.seq += 1
        message = make_update(message_type, s.model_key, s.training_id, self.seq, **body)
        try:
            line.broker.publish_update(message)
        except BackendError as exc:
            self.line.failed(exc)

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> None:
        s = self.session
        try:
            while not s.abandoned.is_set():
                self.line.get()
                done = self._drain_events()
                now = time.monotonic()
                self._publish_progress(now)
                # Also as soon as the store numbered the training: no other message carries
                # the number, and a short training could otherwise end before viewers know it.
                if now - self.heartbeat_at >= HEARTBEAT_INTERVAL_S or s.number != self.announced:
                    self.heartbeat_at = now
                    self.announced = s.number
                    self._publish(HEARTBEAT, snapshot=s.snapshot())
                if now - self.liveness_at >= LIVENESS_CHECK_S:
                    self.liveness_at = now
                    self._check_fit_alive()
                if done:
                    return
                self._poll_commands()
        except Exception:  # this thread must never take the training down
            log.exception("dltrack broker thread failed; live updates stop")
        finally:
            self.line.close()
            s.broker_connected = False

    def _drain_events(self) -> bool:
        """Publish the queued events; True once train_end has gone out (or cannot)."""
        s = self.session
        while s.events:
            kind, body = s.events.popleft()
            self._publish(kind, **body)
            if kind == "train_end":
                return True
        return False

    def _publish_progress(self, now: float) -> None:
        latest = self.session.latest
        if latest is None:
            return
        where = (latest.epoch, latest.step)
        since = latest.at - self.sent_batch_at  # negative if the clock was set back
        if where == self.sent_progress or 0 <= since < PROGRESS_INTERVAL_S - PROGRESS_SLACK_S:
            return
        self.sent_progress = where
        self.sent_batch_at = latest.at
        self._publish(
            PROGRESS,
            epoch=latest.epoch,
            step=latest.step,
            steps=latest.steps,
            logs=clean_logs(latest.logs),
        )

    def _poll_commands(self) -> None:
        line = self.line.connection
        if line is None:
            self.session.wake.wait(COMMAND_POLL_S)
            self.session.wake.clear()
            return
        try:
            raw_commands = line.feed.poll(COMMAND_POLL_S)
        except BackendError as exc:
            self.line.failed(exc)
            return
        for raw in raw_commands:
            try:
                self._handle_command(parse_command(raw))
            except Exception:  # a command must never end the listening: ignore it, count it
                log.debug("a command could not be handled", exc_info=True)
                self._handle_command(None)

    def _handle_command(self, command: Command | None) -> None:
        s = self.session
        if (
            command is None
            or not command.addressed_to(s.model_key, s.training_id)
            or command.ts < s.started_at - COMMAND_MAX_AGE_S
            or command.id in self.seen_commands
        ):
            self.ignored_commands += 1
            log.debug("ignored a command (%d so far)", self.ignored_commands)
            return
        if len(self.seen_commands) < 10_000:
            self.seen_commands.add(command.id)
        reason = "the training has already ended" if s.ended.is_set() else None
        if reason is None and command.kind not in STOP_KINDS:
            if self.controller is None:
                reason = "this training cannot be steered (dltrack could not set it up)"
            else:
                reason = self.controller.check(command)
        # The sender and kind travel with the ack: every viewer, not only the sender's, can
        # show who asked for what.
        ack = {"command_id": command.id, "command_kind": command.kind, "sender": command.sender}
        if reason is not None:
            self._publish(ACK, accepted=False, reason=reason, **ack)
            return
        if command.kind in STOP_KINDS:
            current = s.stop_request
            # A stop may upgrade a stop-after-epoch; never the other way round.
            if current is None or (
                current.kind not in (STOP, SAVE_AND_STOP) and command.kind != STOP_AFTER_EPOCH
            ):
                s.stop_request = command
                if command.kind != STOP_AFTER_EPOCH:
                    s.unpause.set()  # a paused training stops now, not after the pause
        elif self.controller is not None:
            self.controller.accept(command)
        self._publish(ACK, accepted=True, reason=None, **ack)

    def _check_fit_alive(self) -> None:
        if not self.session.ended.is_set() and self._fit.left():
            reason = self.session.exception
            if reason is None:
                # Not from the train function (another callback, say): the exception being
                # handled on the training thread, if it is still being handled now.
                exc = self._fit.exception()
                reason = exception_summary(exc) if exc is not None else None
            finish(self.session, "failed", reason or "an exception escaped fit()")
