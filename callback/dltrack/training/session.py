"""One `fit()` call as seen by dltrack: the state the training thread shares with the two
background threads that do all the I/O (`broker_link.BrokerLink`, `store_writer.StoreWriter`).

The training thread only ever appends to a deque, swaps a reference or sets an Event: each is
atomic under the GIL and takes well under a microsecond, so no hook waits on a lock or a socket.
"""

from __future__ import annotations

import collections
import math
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from dltrack.wire.config import Settings
from dltrack.wire.keys import new_training_id
from dltrack.wire.protocol import Command, UpdateType
from dltrack.wire.records import EpochDict, FinalStatus, Status

# How many finished epochs a heartbeat repeats, so that a viewer joining late (or after an
# outage) sees recent history even while the store is unreachable.
HEARTBEAT_EPOCHS = 20
HEARTBEAT_EVENTS = 20


# What the training thread asks the store thread to write (training/store_writer.py), in order.
StoreOpKind = Literal["start", "epoch_end", "update", "end", "event"]
StoreOp = tuple[StoreOpKind, dict[str, Any]]


@dataclass
class Progress:
    epoch: int
    step: int
    steps: int | None
    logs: dict[str, Any]
    at: float


@dataclass
class StopInfo:
    """Why and where the training stopped, once a stop was honoured."""

    command: Command
    epoch: int | None = None
    step: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "sender": self.command.sender,
            "requested_at": self.command.ts,
            "kind": self.command.kind,
            "command_id": self.command.id,
            "epoch": self.epoch,
            "step": self.step,
        }


@dataclass
class TrainingSession:
    settings: Settings
    model_key: str
    training_id: str
    params: dict[str, Any]
    shutdown_timeout: float
    started_at: float = field(default_factory=time.time)

    # Training thread → broker thread: discrete events in order, and the latest batch.
    events: collections.deque[tuple[UpdateType, dict[str, Any]]] = field(
        default_factory=collections.deque
    )
    latest: Progress | None = None
    # Training thread → store thread: record operations, in order.
    store_ops: queue.SimpleQueue[StoreOp] = field(default_factory=queue.SimpleQueue)
    # Broker thread → training thread: an accepted stop command, and the other accepted
    # commands, carried out in order at the next batch (training/control.py).
    stop_request: Command | None = None
    pending: collections.deque[Command] = field(default_factory=collections.deque)
    # Set to end a pause early (resume, stop, Ctrl-C); a paused training thread waits on it.
    unpause: threading.Event = field(default_factory=threading.Event)
    paused_since: float | None = None
    lr: float | None = None
    # The latest events (commands carried out, rules fired), repeated by heartbeats.
    recent_events: collections.deque[dict[str, Any]] = field(
        default_factory=lambda: collections.deque(maxlen=HEARTBEAT_EVENTS)
    )
    # Background threads → training thread: one-line problems to warn about, once each.
    notices: collections.deque[str] = field(default_factory=collections.deque)
    # Filled in as the training runs.
    number: int | None = None
    epoch: int | None = None
    epoch_started_at: float | None = None
    epochs: list[EpochDict] = field(default_factory=list)
    status: Status = "running"
    stop: StopInfo | None = None
    reason: str | None = None
    # Set once on_train_end (or failure detection) handed over the last event.
    ended: threading.Event = field(default_factory=threading.Event)
    # Set when the model key turned out not to exist: both threads give up.
    abandoned: threading.Event = field(default_factory=threading.Event)
    wake: threading.Event = field(default_factory=threading.Event)
    # Broker thread → training thread: how to interrupt the broker thread's wait for commands
    # (its feed's `wake`), and the batch end time (time.time()) from which a finished batch is
    # worth a wake-up: the next progress message is due then. Infinite while nobody watches.
    waker: Callable[[], None] | None = None
    poke: threading.Event = field(default_factory=threading.Event)
    poke_after: float = math.inf
    # Training thread only: the `poke_after` it already woke the broker thread for.
    poked_for: float = math.inf
    left_in_spool: int = 0
    # "TypeName: first line" of an exception seen leaving the train function, if any.
    exception: str | None = None
    # Whether the broker thread holds a working connection (train_end can go out through it).
    broker_connected: bool = False
    _noticed: set[str] = field(default_factory=set)

    def notice(self, key: str, message: str) -> None:
        """Queue a warning for the training thread, once per `key`."""
        if key not in self._noticed:
            self._noticed.add(key)
            self.notices.append(message)

    def hand_over(
        self, kind: UpdateType, body: Mapping[str, Any], store_op: StoreOpKind | None = None
    ) -> None:
        body = dict(body)
        self.events.append((kind, body))
        if store_op is not None:
            self.store_ops.put((store_op, body))
        self.wake_link()

    def wake_link(self) -> None:
        """End the broker thread's wait now (it has something to send). Only Events are set
        here: the relay thread (`BrokerLink.relay`) turns them into the feed's `wake`, a
        write to a socket, which the training thread never makes."""
        self.wake.set()
        self.poke.set()

    def batch_ended(self, at: float) -> None:
        """Wake the broker thread when this batch is due to be reported (once per due time)."""
        due = self.poke_after
        if at >= due and due != self.poked_for:
            self.poked_for = due
            self.wake_link()

    def event(
        self,
        kind: str,
        *,
        ok: bool = True,
        detail: str | None = None,
        command: Command | None = None,
        values: dict[str, Any] | None = None,
        where: tuple[int | None, int | None] | None = None,
    ) -> dict[str, Any]:
        """Record that something happened to the training: to viewers and to the store."""
        latest = self.latest
        epoch, step = where or (self.epoch, latest.step if latest else None)
        record = {
            "id": new_training_id(),
            "kind": kind,
            "at": time.time(),
            "ok": ok,
            "detail": detail,
            "sender": command.sender if command else None,
            "command_id": command.id if command else None,
            "epoch": epoch,
            "step": step,
            "values": dict(values or {}),
        }
        self.recent_events.append(record)
        self.hand_over("event", {"event": record}, store_op="event")
        return record

    def snapshot(self, full: bool = True) -> dict[str, Any]:
        """The current state, as carried by heartbeats. Without `full`, only what changes
        between epochs: the parameters and finished epochs went out before (train_begin,
        epoch_end, the last full snapshot), and viewers keep what they have for absent fields."""
        latest = self.latest
        light = {
            "status": self.status,
            "number": self.number,
            "started_at": self.started_at,
            "epoch": self.epoch,
            "epoch_started_at": self.epoch_started_at,
            "step": latest.step if latest else 0,
            "steps": latest.steps if latest else self.params.get("steps"),
            "logs": latest.logs if latest and latest.epoch == self.epoch else {},
            "epochs_done": len(self.epochs),
            "stop": self.stop.to_json() if self.stop else None,
            "paused_since": self.paused_since,
            "lr": self.lr,
            "events": list(self.recent_events),
        }
        if not full:
            return light
        return {**light, "params": self.params, "epochs": self.epochs[-HEARTBEAT_EPOCHS:]}


def end_body(session: TrainingSession) -> dict[str, Any]:
    """The train_end message body and store fields for the session's final state."""
    return {
        "status": session.status,
        "reason": session.reason,
        "ended_at": time.time(),
        "epochs_done": len(session.epochs),
        "final_logs": session.epochs[-1]["logs"] if session.epochs else {},
        "stop": session.stop.to_json() if session.stop else None,
    }


def finish(session: TrainingSession, status: FinalStatus, reason: str | None = None) -> None:
    """Hand over the end of the training, once (from on_train_end or failure detection)."""
    if session.ended.is_set():
        return
    session.status = status
    session.reason = reason
    session.ended.set()
    session.hand_over("train_end", end_body(session), store_op="end")
