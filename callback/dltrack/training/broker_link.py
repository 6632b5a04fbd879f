"""The training's broker thread: publishes updates, listens for commands, acknowledges them.

It owns the broker connection (pika connections belong to one thread). Live updates are
best-effort: while the broker is away they are dropped, and the heartbeat that follows the
reconnect carries the full current state, so viewers catch up. Epoch records do not depend on
this thread at all; the store thread keeps them.

It publishes for viewers, not into the void (`presence.Presence`): unwatched, only train_begin,
epoch_end, train_end, acks and a heartbeat every `QUIET_HEARTBEAT_S`; watched, progress and
epoch_begin too and a heartbeat a second, light (what changes between epochs) but for every
`FULL_EVERY`-th and the one a viewer's hello asks for. Between those it sleeps in the command
feed's `poll`, woken by the training thread when there is something to send.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from dltrack.backends import open_broker
from dltrack.backends.reconnect import BrokerLine, Reconnecting
from dltrack.training.control import Controller
from dltrack.training.end_reason import exception_summary
from dltrack.training.fit_frame import FitFrame
from dltrack.training.presence import Presence
from dltrack.training.session import TrainingSession, finish
from dltrack.wire import auth
from dltrack.wire.auth import ReplayGuard
from dltrack.wire.config import mask_url
from dltrack.wire.errors import BackendError, DltrackError
from dltrack.wire.keys import model_id
from dltrack.wire.protocol import (
    ACK,
    EPOCH_BEGIN,
    HEARTBEAT,
    HELLO,
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
    HEARTBEAT_INTERVAL_S,
    LIVE_RECONNECT_CAP_S,
    LIVENESS_CHECK_S,
    PROGRESS_INTERVAL_S,
    PROGRESS_SLACK_S,
    QUIET_HEARTBEAT_S,
)

log = logging.getLogger("dltrack")

FULL_EVERY = 10  # every this many heartbeats while watched carries the full snapshot
# Refusals are acknowledged (the sender learns why) at most this often on average, so that a
# flood of forged commands cannot make the training flood the broker with acks.
REFUSAL_ACKS_PER_S = 5.0
REFUSAL_BURST = 20.0


class BrokerLink:
    def __init__(
        self, session: TrainingSession, fit: FitFrame, controller: Controller | None = None
    ) -> None:
        self.session = session
        self.controller = controller
        # Made by `run`, on the broker thread that owns the connection: nothing of the
        # backends runs on the training thread, which builds this object.
        self.line: Reconnecting[BrokerLine]
        self.seq = 0
        self.sent_progress: tuple[int, int] | None = None
        self.sent_batch_at = 0.0  # Progress.at of the batch last reported
        self.heartbeat_at = 0.0
        self.beats = 0  # heartbeats since the last full one
        self.full_due = True
        self.presence = Presence()
        self.done = False  # the loop ended: the relay thread stops
        self.announced: int | None = None  # the training number viewers were last told
        self.liveness_at = 0.0
        self.model_id = model_id(session.model_key)
        self.replays = ReplayGuard()
        self.ignored_commands = 0
        self.refused_commands = 0
        self.refusal_allowance = REFUSAL_BURST
        self.refusal_at = time.monotonic()
        self._fit = fit

    # -- connection -------------------------------------------------------------------------

    def _open_line(self) -> BrokerLine:
        s = self.session
        line = BrokerLine(
            open_broker(s.settings.broker_url),
            lambda broker: broker.listen_commands(self.model_id, s.training_id),
        )
        self.line.succeeded()  # nothing to wait for: listening went through the server
        s.broker_connected = True
        self.heartbeat_at = 0.0  # announce the full state straight away
        self.full_due = True
        s.waker = line.feed.wake
        return line

    def _on_failure(self, exc: DltrackError, delay: float) -> None:
        s = self.session
        s.broker_connected = False
        s.waker = None
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
        message = make_update(message_type, self.model_id, s.training_id, self.seq, **body)
        try:
            line.broker.publish_update(message)
        except BackendError as exc:
            self.line.failed(exc)

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> None:
        s = self.session
        self.line = Reconnecting(
            self._open_line,
            name="broker",
            cap=LIVE_RECONNECT_CAP_S,
            on_failure=self._on_failure,
            on_recovered=lambda: log.info("dltrack: reconnected to the broker"),
        )
        try:
            while not s.abandoned.is_set():
                self.line.get()
                now = time.monotonic()
                watched = self.presence.watched(now)
                done = self._drain_events(watched)
                if watched:
                    self._publish_progress()
                self._heartbeat(now, watched)
                if now - self.liveness_at >= LIVENESS_CHECK_S:
                    self.liveness_at = now
                    self._check_fit_alive()
                if done:
                    return
                # A batch a little early (the slack) still wakes us; the timer below then sends
                # it when due, rather than a whole interval later with the next batch.
                s.poke_after = self._progress_due() - PROGRESS_SLACK_S if watched else math.inf
                self._wait(self._next_due(now, watched) - time.monotonic())
        except Exception:  # this thread must never take the training down
            log.exception("dltrack broker thread failed; live updates stop")
        finally:
            s.waker = None
            self.line.close()
            s.broker_connected = False
            self.done = True
            s.poke.set()  # the relay ends too

    def relay(self) -> None:
        """The relay thread: wakes the broker thread's wait for commands when the training
        thread pokes (pika's wake-up writes to a socket, kept off the training thread)."""
        s = self.session
        while not self.done:
            s.poke.wait()
            s.poke.clear()
            waker = s.waker
            if waker is not None and not self.done:
                waker()  # Feed.wake never raises

    def _heartbeat(self, now: float, watched: bool) -> None:
        s = self.session
        asked = self.presence.snapshot_wait(now) == 0
        interval = HEARTBEAT_INTERVAL_S if watched else QUIET_HEARTBEAT_S
        # Also as soon as the store numbered the training: no other message carries the
        # number, and a short training could otherwise end before viewers know it.
        if not (asked or now - self.heartbeat_at >= interval or s.number != self.announced):
            return
        # Unwatched beats are rare, and whoever reads them late needs everything.
        full = asked or self.full_due or not watched or self.beats >= FULL_EVERY - 1
        self.heartbeat_at = now
        self.announced = s.number
        self._publish(HEARTBEAT, snapshot=s.snapshot(full=full))
        if full:
            self.beats, self.full_due = 0, False
            self.presence.snapshot_sent(now)
        else:
            self.beats += 1

    def _next_due(self, now: float, watched: bool) -> float:
        """When (monotonic) the loop next has something to do unprompted."""
        due = [self.liveness_at + LIVENESS_CHECK_S]
        if self.line.connection is None:
            due.append(self.line.backoff.next_at)
        else:
            due.append(self.heartbeat_at + (HEARTBEAT_INTERVAL_S if watched else QUIET_HEARTBEAT_S))
            owed = self.presence.snapshot_wait(now)
            if owed is not None:
                due.append(now + owed)
        if watched and self._unsent_progress():
            # A batch that ended too soon after the last report: reported when it is due, even
            # if no later batch comes to wake us (a slow one, the last of an epoch).
            due.append(now + max(0.0, self._progress_due() - time.time()))
        return min(due)

    def _progress_due(self) -> float:
        """When (time.time()) the next progress message may go out: an interval after the end
        of the batch last reported. Paced by the batches' own end times, so sends do not drift
        behind the batches; the full interval, so woken on time it stays at <= 10/s."""
        return self.sent_batch_at + PROGRESS_INTERVAL_S

    def _unsent_progress(self) -> bool:
        latest = self.session.latest
        return latest is not None and (latest.epoch, latest.step) != self.sent_progress

    def _drain_events(self, watched: bool) -> bool:
        """Publish the queued events; True once train_end has gone out (or cannot)."""
        s = self.session
        while s.events:
            kind, body = s.events.popleft()
            if kind == EPOCH_BEGIN and not watched:
                continue  # nobody to show it to; the epoch's end persists it
            self._publish(kind, **body)
            if kind == "train_end":
                return True
        return False

    def _publish_progress(self) -> None:
        latest = self.session.latest
        if latest is None:
            return
        where = (latest.epoch, latest.step)
        early = self._progress_due() - time.time()  # beyond an interval if the clock went back
        if where == self.sent_progress or 0 < early <= PROGRESS_INTERVAL_S:
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

    def _wait(self, timeout: float) -> None:
        """Sleep until a command arrives, the training thread wakes us, or `timeout` s."""
        timeout = min(max(timeout, 0.0), LIVENESS_CHECK_S)
        line = self.line.connection
        if line is None:
            self.session.wake.wait(timeout)
            self.session.wake.clear()
            return
        try:
            raw_commands = line.feed.poll(timeout)
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
        if command is None or not command.addressed_to(self.model_id, s.training_id):
            self._ignore()
            return
        now = time.time()
        reason = command.refusal(s.model_key, now)
        if command.kind == HELLO:
            # Presence only, signed with the viewing token: no ack (a hello must not make the
            # training say more than the rate it switches to) and not remembered (a replayed
            # hello only renews a presence, which expires on its own).
            if reason is None:
                self.presence.hello(time.monotonic())
            else:
                self._ignore()
            return
        if reason is None and command.ts < s.started_at - COMMAND_MAX_AGE_S:
            reason = "stale command: sent before this training started"
        if reason is None and not self.replays.first_time(command.id, command.ts, now):
            reason = auth.REPLAYED
        if reason is None and s.ended.is_set():
            reason = "the training has already ended"
        # Steering is checked only once the command is known to be authentic.
        if reason is None and command.kind not in STOP_KINDS:
            if self.controller is None:
                reason = "this training cannot be steered (dltrack could not set it up)"
            else:
                reason = self.controller.check(command)
        if reason is not None:
            self._refuse(command, reason)
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
        self._publish(ACK, accepted=True, reason=None, **_ack_fields(command))

    def _ignore(self) -> None:
        self.ignored_commands += 1
        log.debug("ignored a command (%d so far)", self.ignored_commands)

    def _refuse(self, command: Command, reason: str) -> None:
        """Say why a command changed nothing, within the refusal rate (else only count it)."""
        self.refused_commands += 1
        log.debug("refused a command (%d so far): %s", self.refused_commands, reason)
        now = time.monotonic()
        self.refusal_allowance = min(
            REFUSAL_BURST, self.refusal_allowance + (now - self.refusal_at) * REFUSAL_ACKS_PER_S
        )
        self.refusal_at = now
        if self.refusal_allowance < 1:  # counted above; not acknowledged
            return
        self.refusal_allowance -= 1
        self._publish(ACK, accepted=False, reason=reason, **_ack_fields(command))

    def _check_fit_alive(self) -> None:
        if not self.session.ended.is_set() and self._fit.left():
            reason = self.session.exception
            if reason is None:
                # Not from the train function (another callback, say): the exception being
                # handled on the training thread, if it is still being handled now.
                exc = self._fit.exception()
                reason = exception_summary(exc) if exc is not None else None
            finish(self.session, "failed", reason or "an exception escaped fit()")


def _ack_fields(command: Command) -> dict[str, Any]:
    # The sender and kind travel with the ack: every viewer, not only the sender's, can show
    # who asked for what (never the key: a command carries only the model id and its MAC).
    return {"command_id": command.id, "command_kind": command.kind, "sender": command.sender}
