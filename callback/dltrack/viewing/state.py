"""`MonitorState`: what a viewer knows about a model, built by a pure reducer.

The Watcher folds two sources into it: history from the store (`load_history`) and live
messages from the broker (`apply_update`). The widget and the terminal view only read
`to_snapshot()`, a JSON-ready dict (docs/widget-state.md). Every function here returns a new
state and touches no thread, socket or clock of its own, so all of it is tested directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from dltrack.viewing import batches as batch_series
from dltrack.wire import protocol as p
from dltrack.wire.records import (
    LIVE_STATUSES,
    EpochDict,
    EpochRecord,
    ModelRecord,
    Status,
    TrainingRecord,
    ViewStatus,
)
from dltrack.wire.timing import INTERRUPTED_AFTER_S, LOST_AFTER_S, STORE_FRESH_S

MAX_COMMANDS = 20


@dataclass(frozen=True)
class TrainingView:
    training_id: str
    number: int | None = None
    status: Status = "running"
    started_at: float | None = None
    ended_at: float | None = None
    last_seen: float | None = None  # the training's own clock (store or message ts)
    heard_at: float | None = None  # our clock, when a live message last arrived
    params: dict[str, Any] = field(default_factory=dict)
    epochs: dict[int, EpochDict] = field(default_factory=dict)
    final_logs: dict[str, float] = field(default_factory=dict)
    stop: dict[str, Any] | None = None
    reason: str | None = None
    current: dict[str, Any] | None = None
    batches: batch_series.BatchSeries = field(default_factory=batch_series.BatchSeries)
    last_seq: int = -1
    # What happened to it (commands carried out, rules fired, why it ended), oldest first.
    events: tuple[dict[str, Any], ...] = ()
    paused_since: float | None = None
    lr: float | None = None


@dataclass(frozen=True)
class MonitorState:
    model_id: str
    model: dict[str, Any] | None = None
    connection: dict[str, Any] = field(
        default_factory=lambda: {
            "status": "connecting",
            "detail": "",
            "broker": "",
            "store": "",
            "store_status": "connecting",
            "store_detail": "",
        }
    )
    error: str | None = None
    trainings: dict[str, TrainingView] = field(default_factory=dict)
    commands: dict[str, dict[str, Any]] = field(default_factory=dict)


def merge_events(
    old: tuple[dict[str, Any], ...], new: list[dict[str, Any]]
) -> tuple[dict[str, Any], ...]:
    """Both lists of events, each once (by id), oldest first, the latest MAX_EVENTS."""
    by_id = {e["id"]: e for e in old}
    for event in new:
        if isinstance(event, dict) and isinstance(event.get("id"), str):
            by_id.setdefault(event["id"], event)
    return tuple(sorted(by_id.values(), key=lambda e: (e["at"], e["id"]))[-p.MAX_EVENTS :])


def active_rules(events: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    """The rules a training holds, folded from its add_rule / remove_rule events."""
    rules: dict[str, dict[str, Any]] = {}
    for event in events:
        values = event.get("values") or {}
        rule_id = values.get("id")
        if not event.get("ok", True) or not isinstance(rule_id, str):
            continue
        if event["kind"] == p.ADD_RULE:
            rules[rule_id] = {**values, "describe": event.get("detail") or ""}
        elif event["kind"] == p.REMOVE_RULE:
            rules.pop(rule_id, None)
    return list(rules.values())


def load_history(
    state: MonitorState,
    model: ModelRecord,
    trainings: list[TrainingRecord],
    epochs: dict[str, list[EpochRecord]],
    events: dict[str, list[dict[str, Any]]] | None = None,
) -> MonitorState:
    """Merge what the store holds. Live knowledge wins where it is newer."""
    views: dict[str, TrainingView] = {}
    for record in trainings:
        old = state.trainings.get(record.training_id, TrainingView(record.training_id))
        stored = {e.epoch: EpochRecord.to_json(e) for e in epochs.get(record.training_id, [])}
        live_final = old.status != "running" and old.heard_at is not None
        views[record.training_id] = replace(
            old,
            number=record.number,
            status=old.status if live_final else record.status,
            started_at=record.started_at,
            ended_at=old.ended_at if live_final else record.ended_at,
            last_seen=max(filter(None, (old.last_seen, record.last_seen)), default=None),
            params=record.params or old.params,
            epochs={**stored, **old.epochs},
            final_logs=old.final_logs if live_final else record.final_logs,
            stop=old.stop if live_final else (record.stop or old.stop),
            reason=old.reason if live_final else record.reason,
            events=merge_events(old.events, (events or {}).get(record.training_id, [])),
        )
    # Trainings heard live but not (yet) in the store stay; deleted ones go.
    for tid, view in state.trainings.items():
        if tid not in views and view.heard_at is not None and view.number is None:
            views[tid] = view
    return replace(state, model=model.to_json(), trainings=views, error=None)


def only_liveness_changed(before: MonitorState, after: MonitorState, training_id: str) -> bool:
    """Whether `after` tells nothing about `training_id` that `before` did not, but that it was
    heard of again: what most heartbeats change, and nothing a viewer must see at once."""
    old, new = before.trainings.get(training_id), after.trainings.get(training_id)
    if old is None or new is None or old.heard_at is None or new.heard_at is None:
        return False
    if new.heard_at - old.heard_at > LOST_AFTER_S:
        return False  # it was shown lost: that it is back is news
    return (
        replace(new, last_seq=old.last_seq, heard_at=old.heard_at, last_seen=old.last_seen) == old
    )


def apply_update(state: MonitorState, message: p.Message, now: float) -> MonitorState:
    """Fold one parsed live message (from `protocol.parse_update`) into the state."""
    if message["model_id"] != state.model_id:
        return state
    kind = message["type"]
    if kind == p.ACK:
        return _apply_ack(state, message)
    tid = message["training_id"]
    view = state.trainings.get(tid) or TrainingView(tid, started_at=message["ts"])
    if message["seq"] <= view.last_seq:
        return state  # a duplicate or a stale message overtaken by a newer one
    view = replace(view, last_seq=message["seq"], heard_at=now, last_seen=message["ts"])
    handler = _HANDLERS.get(kind)
    if handler is not None:
        view = handler(view, message)
    state = replace(state, trainings={**state.trainings, tid: view})
    if kind == p.EVENT:
        state = _command_done(state, message["event"])
    return state


def _event(view: TrainingView, m: p.Message) -> TrainingView:
    event = m["event"]
    view = replace(view, events=merge_events(view.events, [event]))
    if event["kind"] == p.PAUSE and event.get("ok", True):
        view = replace(view, paused_since=event["at"])
    elif event["kind"] == p.RESUME:
        view = replace(view, paused_since=None)
    new_lr = event.get("values", {}).get("new")
    if event["kind"] == p.SET_LR and event.get("ok", True) and isinstance(new_lr, int | float):
        view = replace(view, lr=float(new_lr))
    return view


def _command_done(state: MonitorState, event: dict[str, Any]) -> MonitorState:
    """A command carried out (or failed where it was carried out): done, with its result."""
    entry = state.commands.get(event.get("command_id") or "")
    if entry is None or entry["state"] == "failed":
        return state  # a save-and-stop whose save failed stays failed when the stop is done
    updated = {
        **entry,
        "state": "done" if event.get("ok", True) else "failed",
        "detail": event.get("detail") or "",
        "result": event.get("values", {}),
    }
    return replace(state, commands={**state.commands, entry["id"]: updated})


def _train_begin(view: TrainingView, m: p.Message) -> TrainingView:
    return replace(view, params=m["params"], status="running", started_at=m["ts"])


def _epoch_begin(view: TrainingView, m: p.Message) -> TrainingView:
    current = {
        "epoch": m["epoch"],
        "step": 0,
        "steps": view.params.get("steps"),
        "logs": {},
        "epoch_started_at": m["ts"],
        "rate": None,
    }
    return replace(view, current=current)


def _progress(view: TrainingView, m: p.Message) -> TrainingView:
    if m["epoch"] in view.epochs:
        # The last batch's report can follow its epoch's end and the next epoch's begin (the
        # training sends queued events first): it adds a point, but must not move the position
        # back to a finished epoch ("Epoch 6/10 90/90" while epoch 7 runs).
        return replace(view, batches=_add_batch(view, m, m["ts"]))
    old = view.current if view.current and view.current["epoch"] == m["epoch"] else None
    started = old["epoch_started_at"] if old else m["ts"]
    elapsed = m["ts"] - started
    current = {
        "epoch": m["epoch"],
        "step": m["step"],
        "steps": m.get("steps"),
        "logs": m["logs"],
        "epoch_started_at": started,
        "rate": _rate(m["step"], elapsed) if old else None,
    }
    return replace(view, current=current, batches=_add_batch(view, m, started))


def _add_batch(view: TrainingView, m: p.Message, epoch_started: float) -> batch_series.BatchSeries:
    """The whole run's per-batch curve with this progress message's loss added."""
    loss = m["logs"].get("loss")
    if not isinstance(loss, (int, float)) or not math.isfinite(loss):
        return view.batches
    planned = view.params.get("steps")
    steps = m.get("steps") or (planned if isinstance(planned, int) else None)
    # Steps of the epochs before this one: their records' counts (a stopped one is shorter).
    before = sum(
        (record.get("steps") or steps or 0) for e, record in view.epochs.items() if e < m["epoch"]
    )
    last = view.batches.pending[-1:] or view.batches.points[-1:]
    if last and last[0][1] >= before + m["step"]:
        return view.batches  # an epoch restarted or counted anew: keep the curve monotonic
    position = m["epoch"] + m["step"] / steps if steps else None
    started = view.started_at if view.started_at is not None else epoch_started
    point = (position, before + m["step"], max(0.0, m["ts"] - started), float(loss))
    return batch_series.add(view.batches, point)


def _rate(steps: int, elapsed: float) -> float | None:
    """Steps per second; None when it cannot be told (a sender's clock may be anything, and
    an infinity would make the snapshot invalid JSON)."""
    rate = steps / elapsed if elapsed > 0 else None
    return rate if rate is not None and math.isfinite(rate) else None


def _epoch_end(view: TrainingView, m: p.Message) -> TrainingView:
    record = EpochRecord.from_json({"ended_at": m["ts"], **m}).to_json()
    current = view.current if view.current and view.current["epoch"] != m["epoch"] else None
    return replace(view, epochs={**view.epochs, m["epoch"]: record}, current=current)


def _train_end(view: TrainingView, m: p.Message) -> TrainingView:
    return replace(
        view,
        status=m["status"],
        ended_at=m.get("ended_at", m["ts"]),
        final_logs=m.get("final_logs") or view.final_logs,
        stop=m.get("stop"),
        reason=m.get("reason"),
        current=None,
        paused_since=None,
    )


def _heartbeat(view: TrainingView, m: p.Message) -> TrainingView:
    snap = m["snapshot"]
    epochs = dict(view.epochs)
    for record in snap.get("epochs") or []:
        if isinstance(record, dict) and isinstance(record.get("epoch"), int):
            epochs.setdefault(record["epoch"], EpochRecord.from_json(record).to_json())
    view = replace(
        view,
        number=snap.get("number") or view.number,
        params=snap.get("params") or view.params,
        started_at=snap.get("started_at") or view.started_at,
        epochs=epochs,
        events=merge_events(view.events, snap.get("events") or []),
        paused_since=snap.get("paused_since"),
        lr=snap.get("lr") if snap.get("lr") is not None else view.lr,
    )
    epoch = snap.get("epoch")
    if snap.get("status") != "running" or not isinstance(epoch, int) or epoch in epochs:
        return view
    if (
        view.current
        and view.current["epoch"] == epoch
        and view.current["step"] >= (snap.get("step") or 0)
    ):
        return view
    current = {
        "epoch": epoch,
        "step": snap.get("step") or 0,
        "steps": snap.get("steps"),
        "logs": snap.get("logs") or {},
        "epoch_started_at": snap.get("epoch_started_at") or m["ts"],
        "rate": None,
    }
    return replace(view, current=current)


_HANDLERS = {
    p.TRAIN_BEGIN: _train_begin,
    p.EPOCH_BEGIN: _epoch_begin,
    p.PROGRESS: _progress,
    p.EPOCH_END: _epoch_end,
    p.TRAIN_END: _train_end,
    p.HEARTBEAT: _heartbeat,
    p.EVENT: _event,
}


def _apply_ack(state: MonitorState, m: p.Message) -> MonitorState:
    command = state.commands.get(m["command_id"])
    if command is None:
        if not m.get("accepted"):
            # Someone else's refused command (perhaps a forgery): its sender shows it.
            return state
        # Another viewer's command: shown too, so every viewer sees who asked for what.
        command = {
            "id": m["command_id"],
            "kind": m.get("command_kind") or "command",
            "target": m["training_id"],
            "sender": m.get("sender") or "",
            "args": {},
            "result": {},
            "mine": False,
            "sent_at": m["ts"],
        }
    elif command["state"] in ("acknowledged", "done", "failed"):
        # A later refusal of the same id answers a replay, not this command; an ack after the
        # result came late (both arrive together).
        return state
    reason = m.get("reason") if isinstance(m.get("reason"), str) else ""
    updated = {
        **command,
        "state": "acknowledged" if m["accepted"] else "refused",
        "detail": reason or "",
    }
    return _with_command(state, updated)


def _with_command(state: MonitorState, entry: dict[str, Any]) -> MonitorState:
    commands = {**state.commands, entry["id"]: entry}
    if len(commands) > MAX_COMMANDS:
        commands = dict(list(commands.items())[-MAX_COMMANDS:])
    return replace(state, commands=commands)


def command_queued(state: MonitorState, command: p.Command, now: float) -> MonitorState:
    """A command the viewer is about to send."""
    entry = {
        "id": command.id,
        "kind": command.kind,
        "target": command.target,
        "sender": command.sender,
        "args": dict(command.args),
        "result": {},
        "mine": True,
        "state": "sending",
        "detail": "",
        "sent_at": now,
    }
    return _with_command(state, entry)


def command_sent(state: MonitorState, command_id: str, delivered: bool) -> MonitorState:
    """The broker took the command (`delivered`) or found no training to give it to."""
    entry = state.commands.get(command_id)
    if entry is None or entry["state"] != "sending":
        return state  # already acknowledged: the ack can overtake the send's return
    updated = {
        **entry,
        "state": "sent" if delivered else "undelivered",
        "detail": "" if delivered else "no training of this key is running",
    }
    return replace(state, commands={**state.commands, command_id: updated})


def with_connection(state: MonitorState, **fields: Any) -> MonitorState:
    return replace(state, connection={**state.connection, **fields})


def with_error(state: MonitorState, error: str | None) -> MonitorState:
    return replace(state, error=error)


def effective_status(view: TrainingView, now: float) -> ViewStatus:
    """The status to show: a running training that went quiet is `lost`, then `interrupted`."""
    if view.status != "running":
        return view.status
    if view.heard_at is not None:
        silent = now - view.heard_at
        if silent <= LOST_AFTER_S:
            return "running"
    else:
        silent = now - (view.last_seen or view.started_at or now)
        if silent <= STORE_FRESH_S:
            return "running"
    return "interrupted" if silent > INTERRUPTED_AFTER_S else "lost"


def to_snapshot(state: MonitorState, now: float) -> dict[str, Any]:
    """The JSON-ready view of the state (docs/widget-state.md)."""
    views = sorted(
        state.trainings.values(),
        key=lambda v: (v.number is None, v.number or 0, v.started_at or 0),
        reverse=True,
    )
    trainings = []
    for v in views:
        epochs = [v.epochs[e] for e in sorted(v.epochs)]
        status = effective_status(v, now)
        trainings.append(
            {
                "training_id": v.training_id,
                "number": v.number,
                "status": status,
                "started_at": v.started_at,
                "ended_at": v.ended_at,
                "last_seen": v.last_seen,
                "params": v.params,
                "epochs_planned": v.params.get("epochs"),
                "epochs_done": len(epochs),
                "final_logs": v.final_logs or (epochs[-1]["logs"] if epochs else {}),
                "stop": v.stop,
                "reason": v.reason,
                "epochs": epochs,
                "current": v.current if status in LIVE_STATUSES else None,
                "batches": batch_series.to_json(v.batches),
                "events": list(v.events),
                "rules": active_rules(v.events),
                "paused_since": v.paused_since if status in ("running", "lost") else None,
                "lr": v.lr,
            }
        )
    return {
        "model": state.model,
        "connection": state.connection,
        "error": state.error,
        "now": now,
        "trainings": trainings,
        "commands": sorted(state.commands.values(), key=lambda c: c["sent_at"]),
    }
