"""The pure reducer behind every viewer: live messages and store history → one snapshot."""

from __future__ import annotations

import io
import json
from typing import Any, cast

from hypothesis import given, settings
from hypothesis import strategies as hs

from dltrack.viewing import state as st
from dltrack.wire import protocol as p
from dltrack.wire import timing
from dltrack.wire.keys import model_id, new_model_key, new_training_id
from dltrack.wire.records import FINAL_STATUSES, EpochRecord, ModelRecord, Status, TrainingRecord

KEY = new_model_key()
MID = model_id(KEY)
T0 = 1_000_000.0


class Feed:
    """Builds the messages one training sends, with increasing seq and a controllable clock."""

    def __init__(self, training_id: str | None = None, model_key: str = KEY) -> None:
        self.training_id = training_id or new_training_id()
        self.model_key = model_key
        self.seq = 0
        self.ts = T0

    def raw(self, kind: str, seq: int | None = None, **body: Any) -> dict[str, Any]:
        self.seq += 1
        self.ts += 0.5
        message = p.make_update(
            cast(p.UpdateType, kind),
            model_id(self.model_key),
            self.training_id,
            self.seq if seq is None else seq,
            **body,
        )
        message["ts"] = self.ts
        return message

    def msg(self, kind: str, seq: int | None = None, **body: Any) -> dict[str, Any]:
        message = self.raw(kind, seq, **body)
        # Everything the reducer sees went through the parser first.
        parsed = p.parse_update(p.encode(message))
        assert parsed is not None, message
        return parsed


def fold(state: st.MonitorState, *messages: dict[str, Any], now: float = T0) -> st.MonitorState:
    for message in messages:
        state = st.apply_update(state, message, now)
    return state


def only(state: st.MonitorState, now: float = T0) -> dict[str, Any]:
    (training,) = st.to_snapshot(state, now)["trainings"]
    return training


PARAMS = {"epochs": 3, "steps": 10}


def test_a_whole_training_live() -> None:
    f = Feed()
    s = st.MonitorState(MID)
    s = fold(s, f.msg(p.TRAIN_BEGIN, params=PARAMS), f.msg(p.EPOCH_BEGIN, epoch=0))
    t = only(s)
    assert t["status"] == "running"
    assert t["epochs_planned"] == 3
    assert t["current"]["epoch"] == 0 and t["current"]["step"] == 0
    assert t["current"]["steps"] == 10

    s = fold(s, f.msg(p.PROGRESS, epoch=0, step=4, steps=10, logs={"loss": 0.9}))
    t = only(s)
    assert (t["current"]["epoch"], t["current"]["step"]) == (0, 4)
    assert t["current"]["logs"] == {"loss": 0.9}
    assert t["current"]["rate"] > 0  # steps per second since the epoch began

    s = fold(
        s,
        f.msg(p.EPOCH_END, epoch=0, logs={"loss": 0.8, "val_loss": 0.85}, steps=10),
        f.msg(p.EPOCH_BEGIN, epoch=1),
        f.msg(p.PROGRESS, epoch=1, step=2, steps=10, logs={"loss": 0.7}),
    )
    t = only(s)
    assert [e["epoch"] for e in t["epochs"]] == [0]
    assert t["epochs"][0]["logs"] == {"loss": 0.8, "val_loss": 0.85}
    assert t["epochs_done"] == 1
    assert (t["current"]["epoch"], t["current"]["step"]) == (1, 2)

    s = fold(
        s,
        f.msg(p.EPOCH_END, epoch=1, logs={"loss": 0.6}, steps=10),
        f.msg(p.TRAIN_END, status="completed", reason=None, final_logs={"loss": 0.6}, stop=None),
    )
    t = only(s)
    assert t["status"] == "completed"
    assert t["current"] is None
    assert t["final_logs"] == {"loss": 0.6}
    assert [e["epoch"] for e in t["epochs"]] == [0, 1]


def test_a_late_report_of_an_ended_epoch_does_not_move_the_position_back() -> None:
    # The training drains its queued events before the latest progress, so the last batch of
    # epoch 5 can arrive after epoch 6 began.
    f = Feed()
    s = fold(
        st.MonitorState(MID),
        f.msg(p.TRAIN_BEGIN, params=PARAMS),
        f.msg(p.EPOCH_BEGIN, epoch=0),
        f.msg(p.PROGRESS, epoch=0, step=5, steps=10, logs={"loss": 0.9}),
        f.msg(p.EPOCH_END, epoch=0, logs={"loss": 0.8}, steps=10),
        f.msg(p.EPOCH_BEGIN, epoch=1),
        f.msg(p.PROGRESS, epoch=0, step=10, steps=10, logs={"loss": 0.8}),
    )
    t = only(s)
    assert (t["current"]["epoch"], t["current"]["step"]) == (1, 0)
    assert t["batches"]["step"][-1] == 10  # the batch itself still counts on the loss curve


def test_stopped_training_carries_where_and_who() -> None:
    f = Feed()
    stop = {"sender": "ana (test)", "kind": "stop", "epoch": 1, "step": 4, "command_id": "x"}
    s = fold(
        st.MonitorState(MID),
        f.msg(p.TRAIN_BEGIN, params=PARAMS),
        f.msg(p.EPOCH_BEGIN, epoch=1),
        f.msg(p.PROGRESS, epoch=1, step=4, steps=10, logs={}),
        f.msg(p.TRAIN_END, status="stopped", reason="stopped by ana (test)", stop=stop),
    )
    t = only(s, now=T0 + 10_000)  # a finished training never ages
    assert t["status"] == "stopped"
    assert t["stop"] == stop
    assert t["reason"] == "stopped by ana (test)"
    assert t["current"] is None


def test_stale_and_duplicate_messages_are_ignored() -> None:
    f = Feed()
    s = fold(
        st.MonitorState(MID),
        f.msg(p.EPOCH_BEGIN, epoch=0),
        f.msg(p.PROGRESS, epoch=0, step=5, steps=10, logs={"loss": 0.5}),
    )
    late = f.msg(p.PROGRESS, seq=1, epoch=0, step=3, steps=10, logs={"loss": 0.9})
    same = f.msg(p.PROGRESS, seq=2, epoch=0, step=6, steps=10, logs={"loss": 0.4})
    after = fold(s, late, same)
    assert after == s  # nothing changed, not even the heard-at time
    assert only(after)["current"]["step"] == 5


def test_other_models_messages_are_ignored() -> None:
    s = st.MonitorState(MID)
    stranger = Feed(model_key=new_model_key())
    assert fold(s, stranger.msg(p.EPOCH_BEGIN, epoch=0)) == s


def test_trainings_are_told_apart() -> None:
    a, b = Feed(), Feed()
    s = fold(
        st.MonitorState(MID),
        a.msg(p.EPOCH_BEGIN, epoch=0),
        b.msg(p.EPOCH_BEGIN, epoch=0),
        a.msg(p.PROGRESS, epoch=0, step=7, steps=10, logs={}),
        b.msg(p.PROGRESS, epoch=0, step=2, steps=10, logs={}),
        a.msg(p.TRAIN_END, status="completed"),
    )
    views = {t["training_id"]: t for t in st.to_snapshot(s, T0)["trainings"]}
    assert views[a.training_id]["status"] == "completed"
    assert views[b.training_id]["status"] == "running"
    assert views[b.training_id]["current"]["step"] == 2


def heartbeat_snapshot(**overrides: Any) -> dict[str, Any]:
    snap = {
        "status": "running",
        "number": 3,
        "params": PARAMS,
        "started_at": T0 - 100,
        "epoch": 2,
        "epoch_started_at": T0 - 5,
        "step": 7,
        "steps": 10,
        "logs": {"loss": 0.3},
        "epochs_done": 2,
        "epochs": [
            {"epoch": 0, "logs": {"loss": 0.9}, "steps": 10},
            {"epoch": 1, "logs": {"loss": 0.5}, "steps": 10},
        ],
        "stop": None,
    }
    snap.update(overrides)
    return snap


def test_late_joiner_catches_up_from_one_heartbeat() -> None:
    f = Feed()
    s = fold(st.MonitorState(MID), f.msg(p.HEARTBEAT, snapshot=heartbeat_snapshot()))
    t = only(s)
    assert t["status"] == "running"
    assert t["number"] == 3
    assert t["epochs_planned"] == 3
    assert [e["epoch"] for e in t["epochs"]] == [0, 1]
    assert (t["current"]["epoch"], t["current"]["step"], t["current"]["steps"]) == (2, 7, 10)
    assert t["current"]["logs"] == {"loss": 0.3}
    assert t["current"]["epoch_started_at"] == T0 - 5


def test_a_heartbeat_that_only_says_alive_is_told_apart_from_news() -> None:
    f = Feed()
    first = fold(st.MonitorState(MID), f.msg(p.HEARTBEAT, snapshot=heartbeat_snapshot()))
    # A late joiner's first heartbeat is news: the training, its epochs, where it is.
    assert not st.only_liveness_changed(st.MonitorState(MID), first, f.training_id)
    again = fold(first, f.msg(p.HEARTBEAT, snapshot=heartbeat_snapshot()), now=T0 + 1)
    assert st.only_liveness_changed(first, again, f.training_id)
    assert only(again, T0 + 1)["last_seen"] != only(first)["last_seen"]  # liveness did change
    moved = fold(again, f.msg(p.HEARTBEAT, snapshot=heartbeat_snapshot(step=9)), now=T0 + 2)
    assert not st.only_liveness_changed(again, moved, f.training_id)
    numbered = fold(
        again, f.msg(p.HEARTBEAT, snapshot={**heartbeat_snapshot(), "number": 4}), now=T0 + 2
    )
    assert not st.only_liveness_changed(again, numbered, f.training_id)
    # Heard of again after long enough to be shown lost: that it is back is news.
    later = T0 + 2 + timing.LOST_AFTER_S + 1
    back = fold(again, f.msg(p.HEARTBEAT, snapshot=heartbeat_snapshot()), now=later)
    assert not st.only_liveness_changed(again, back, f.training_id)


def test_heartbeat_never_moves_progress_backwards() -> None:
    f = Feed()
    s = fold(
        st.MonitorState(MID),
        f.msg(p.EPOCH_BEGIN, epoch=2),
        f.msg(p.PROGRESS, epoch=2, step=9, steps=10, logs={"loss": 0.2}),
        # A heartbeat built a moment earlier, delivered later (a newer seq though).
        f.msg(p.HEARTBEAT, snapshot=heartbeat_snapshot(step=7)),
    )
    assert only(s)["current"]["step"] == 9


def test_heartbeat_does_not_reopen_an_ended_epoch() -> None:
    f = Feed()
    s = fold(
        st.MonitorState(MID),
        f.msg(p.EPOCH_END, epoch=2, logs={"loss": 0.1}, steps=10),
        f.msg(p.HEARTBEAT, snapshot=heartbeat_snapshot(step=10)),
    )
    t = only(s)
    assert t["current"] is None
    # the live epoch record wins over the heartbeat's copy
    assert t["epochs"][-1]["logs"] == {"loss": 0.1}


def test_ack_sequence_for_our_command() -> None:
    f = Feed()
    command = p.Command.new(p.STOP, KEY, f.training_id, "me")
    s = st.command_queued(st.MonitorState(MID), command, now=T0)
    (c,) = st.to_snapshot(s, T0)["commands"]
    assert (c["id"], c["state"], c["kind"], c["target"]) == (
        command.id,
        "sending",
        p.STOP,
        f.training_id,
    )

    s = st.command_sent(s, command.id, delivered=True)
    assert st.to_snapshot(s, T0)["commands"][0]["state"] == "sent"

    s = fold(s, f.msg(p.ACK, command_id=command.id, accepted=True, reason=None))
    c = st.to_snapshot(s, T0)["commands"][0]
    assert c["state"] == "acknowledged" and c["detail"] == ""


def test_ack_can_overtake_the_send_return() -> None:
    f = Feed()
    command = p.Command.new(p.STOP, KEY, None, "me")
    s = st.command_queued(st.MonitorState(MID), command, now=T0)
    s = fold(s, f.msg(p.ACK, command_id=command.id, accepted=True, reason=None))
    s = st.command_sent(s, command.id, delivered=True)
    assert st.to_snapshot(s, T0)["commands"][0]["state"] == "acknowledged"


def test_refused_and_undelivered_commands_say_why() -> None:
    f = Feed()
    refused = p.Command.new(p.STOP, KEY, None, "me")
    lost = p.Command.new(p.STOP_AFTER_EPOCH, KEY, None, "me")
    s = st.command_queued(st.MonitorState(MID), refused, now=T0)
    s = st.command_queued(s, lost, now=T0 + 1)
    s = fold(s, f.msg(p.ACK, command_id=refused.id, accepted=False, reason="already ended"))
    s = st.command_sent(s, lost.id, delivered=False)
    by_id = {c["id"]: c for c in st.to_snapshot(s, T0)["commands"]}
    assert by_id[refused.id]["state"] == "refused"
    assert by_id[refused.id]["detail"] == "already ended"
    assert by_id[lost.id]["state"] == "undelivered"
    assert "no training" in by_id[lost.id]["detail"]
    # commands are listed oldest first
    assert [c["id"] for c in st.to_snapshot(s, T0)["commands"]] == [refused.id, lost.id]


def test_someone_elses_command_shows_with_its_sender() -> None:
    f = Feed()
    s = st.MonitorState(MID)
    # Someone else's refusal (a forgery, say) shows only to its sender.
    assert fold(s, f.msg(p.ACK, command_id=new_training_id(), accepted=False)) == s
    other = new_training_id()
    ack = f.msg(p.ACK, command_id=other, accepted=True, command_kind="pause", sender="bo@box")
    s = fold(s, ack)
    [command] = st.to_snapshot(s, T0)["commands"]
    assert command["id"] == other and command["state"] == "acknowledged"
    assert (command["kind"], command["sender"], command["mine"]) == ("pause", "bo@box", False)
    # Its result reaches this viewer too, through the event the training sends.
    event = {
        "id": new_training_id(),
        "kind": "pause",
        "at": T0,
        "ok": True,
        "detail": "",
        "sender": "bo@box",
        "command_id": other,
        "epoch": 0,
        "step": 3,
        "values": {},
    }
    s = fold(s, f.msg(p.EVENT, event=event))
    snap = st.to_snapshot(s, T0)
    assert snap["commands"][0]["state"] == "done"
    assert snap["trainings"][0]["paused_since"] == T0
    assert snap["trainings"][0]["events"] == [event]


def test_events_merge_once_and_rules_fold() -> None:
    def event(kind: str, at: float, **values: object) -> dict[str, object]:
        return {
            "id": new_training_id(),
            "kind": kind,
            "at": at,
            "ok": True,
            "detail": kind,
            "values": values,
        }

    added = event("add_rule", 2.0, id="r1", when="nan", action="stop")
    other = event("add_rule", 3.0, id="r2", when="nan", action="notify")
    removed = event("remove_rule", 4.0, id="r1")
    merged = st.merge_events((removed, added), [added, other])
    assert [e["id"] for e in merged] == [added["id"], other["id"], removed["id"]]
    assert [r["id"] for r in st.active_rules(merged)] == ["r2"]


def test_commands_are_bounded() -> None:
    s = st.MonitorState(MID)
    sent = []
    for i in range(st.MAX_COMMANDS + 5):
        command = p.Command.new(p.STOP, KEY, None, "me")
        sent.append(command.id)
        s = st.command_queued(s, command, now=T0 + i)
    kept = [c["id"] for c in st.to_snapshot(s, T0)["commands"]]
    assert kept == sent[-st.MAX_COMMANDS :]


def test_live_training_goes_lost_then_interrupted() -> None:
    f = Feed()
    heard = T0
    s = fold(
        st.MonitorState(MID),
        f.msg(p.EPOCH_BEGIN, epoch=0),
        f.msg(p.PROGRESS, epoch=0, step=1, steps=10, logs={}),
        now=heard,
    )
    assert only(s, heard + timing.LOST_AFTER_S - 0.5)["status"] == "running"
    lost = only(s, heard + timing.LOST_AFTER_S + 0.5)
    assert lost["status"] == "lost"
    assert lost["current"] is not None  # still shows where it was
    gone = only(s, heard + timing.INTERRUPTED_AFTER_S + 1)
    assert gone["status"] == "interrupted"
    assert gone["current"] is None
    # A message brings it back.
    s = fold(s, f.msg(p.HEARTBEAT, snapshot=heartbeat_snapshot()), now=heard + 200)
    assert only(s, heard + 200)["status"] == "running"


def record(
    training_id: str, number: int, status: Status = "running", **fields: Any
) -> TrainingRecord:
    return TrainingRecord(MID, training_id, number, status, params=PARAMS, **fields)


MODEL = ModelRecord(KEY, "my model", T0 - 1000, 2)


def test_store_only_training_ages_by_last_seen() -> None:
    tid = new_training_id()
    s = st.load_history(
        st.MonitorState(MID),
        MODEL,
        [record(tid, 1, started_at=T0 - 50, last_seen=T0)],
        {},
    )
    assert only(s, T0 + timing.STORE_FRESH_S - 1)["status"] == "running"
    assert only(s, T0 + timing.STORE_FRESH_S + 1)["status"] == "lost"
    assert only(s, T0 + timing.INTERRUPTED_AFTER_S + 1)["status"] == "interrupted"


def test_history_from_the_store() -> None:
    done, running = new_training_id(), new_training_id()
    s = st.load_history(
        st.MonitorState(MID),
        MODEL,
        [
            record(done, 1, "completed", started_at=T0 - 500, final_logs={"loss": 0.1}),
            record(running, 2, started_at=T0 - 10, last_seen=T0),
        ],
        {
            done: [EpochRecord(0, {"loss": 0.2}, 10), EpochRecord(1, {"loss": 0.1}, 10)],
            running: [EpochRecord(0, {"loss": 0.7}, 10)],
        },
    )
    snap = st.to_snapshot(s, T0)
    assert snap["model"]["name"] == "my model"
    assert [t["number"] for t in snap["trainings"]] == [2, 1]  # newest first
    old = snap["trainings"][1]
    assert old["status"] == "completed"
    assert [e["logs"]["loss"] for e in old["epochs"]] == [0.2, 0.1]
    assert old["final_logs"] == {"loss": 0.1}


def test_live_knowledge_wins_over_an_older_store_read() -> None:
    f = Feed()
    s = fold(
        st.MonitorState(MID),
        f.msg(p.EPOCH_END, epoch=0, logs={"loss": 0.5}, steps=10),
        f.msg(p.EPOCH_END, epoch=1, logs={"loss": 0.4}, steps=10),
        f.msg(p.TRAIN_END, status="stopped", reason="stopped by me", stop={"epoch": 1}),
    )
    # The store still says running with one epoch (its writes lag the live feed).
    s = st.load_history(
        s,
        MODEL,
        [record(f.training_id, 4, started_at=T0)],
        {f.training_id: [EpochRecord(0, {"loss": 0.5}, 10)]},
    )
    t = only(s)
    assert t["number"] == 4  # only the store knows the number
    assert t["status"] == "stopped"
    assert t["stop"] == {"epoch": 1}
    assert [e["epoch"] for e in t["epochs"]] == [0, 1]


def test_store_epochs_fill_in_what_the_live_feed_missed() -> None:
    f = Feed()
    s = fold(
        st.MonitorState(MID),
        f.msg(p.EPOCH_END, epoch=3, logs={"loss": 0.3}, steps=10),
    )
    s = st.load_history(
        s,
        MODEL,
        [record(f.training_id, 1, started_at=T0)],
        {f.training_id: [EpochRecord(e, {"loss": 1.0 - e / 10}, 10) for e in range(3)]},
    )
    assert [e["epoch"] for e in only(s)["epochs"]] == [0, 1, 2, 3]


def test_deleted_trainings_disappear_but_unstored_live_ones_stay() -> None:
    deleted, fresh = new_training_id(), new_training_id()
    s = st.load_history(st.MonitorState(MID), MODEL, [record(deleted, 1, "completed")], {})
    s = fold(s, Feed(fresh).msg(p.EPOCH_BEGIN, epoch=0))
    s = st.load_history(s, MODEL, [], {})
    assert [t["training_id"] for t in st.to_snapshot(s, T0)["trainings"]] == [fresh]


def test_connection_and_error() -> None:
    s = st.with_connection(st.MonitorState(MID), status="live", broker="amqp://u:***@h/")
    s = st.with_error(s, "no such model")
    snap = st.to_snapshot(s, T0)
    assert snap["connection"]["status"] == "live"
    assert snap["connection"]["broker"] == "amqp://u:***@h/"
    assert snap["error"] == "no such model"
    assert snap["now"] == T0
    json.dumps(snap)  # JSON-ready


# -- hostile but well-formed messages never break a viewer ------------------------------------

junk = hs.recursive(
    hs.none()
    | hs.booleans()
    | hs.integers(-5, 5)
    | hs.floats(allow_nan=False, allow_infinity=False)
    | hs.text(max_size=5),
    lambda children: (
        hs.lists(children, max_size=3) | hs.dictionaries(hs.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
SNAPSHOT_FIELDS = [*heartbeat_snapshot(), "extra"]


@hs.composite
def hostile_messages(draw: hs.DrawFn, feed: Feed) -> dict[str, Any]:
    kind = draw(hs.sampled_from(sorted(p.UPDATE_TYPES - {p.ACK})))
    bodies: dict[str, dict[str, Any]] = {
        p.TRAIN_BEGIN: {"params": draw(hs.dictionaries(hs.text(max_size=8), junk, max_size=3))},
        p.EPOCH_BEGIN: {"epoch": draw(hs.integers(0, 3))},
        p.PROGRESS: {
            "epoch": draw(hs.integers(0, 3)),
            "step": draw(hs.integers(0, 20)),
            "steps": draw(hs.none() | hs.integers(0, 20)),
            "logs": {"loss": 0.5},
        },
        p.EPOCH_END: {"epoch": draw(hs.integers(0, 3)), "logs": {}},
        p.TRAIN_END: {"status": draw(hs.sampled_from(sorted(FINAL_STATUSES)))},
        p.HEARTBEAT: {
            "snapshot": {
                **heartbeat_snapshot(),
                **draw(hs.dictionaries(hs.sampled_from(SNAPSHOT_FIELDS), junk, max_size=4)),
            }
        },
        p.EVENT: {
            "event": {
                "id": new_training_id(),
                "kind": draw(hs.sampled_from(["pause", "resume", "set_lr", "add_rule", "x"])),
                "at": T0,
                **draw(
                    hs.dictionaries(
                        hs.sampled_from(["ok", "detail", "command_id", "epoch", "values"]),
                        junk,
                        max_size=3,
                    )
                ),
            }
        },
    }
    body = bodies[kind]
    extra = draw(
        hs.dictionaries(
            hs.sampled_from(
                ["steps", "started_at", "ended_at", "reason", "final_logs", "stop", "epochs_done"]
            ),
            junk,
            max_size=3,
        )
    )
    message = feed.raw(kind, **body)
    message.update(extra)
    return message


@settings(max_examples=150, deadline=None)
@given(hs.data())
def test_any_parsable_sequence_reduces_and_renders(data: hs.DataObject) -> None:
    from dltrack.viewing import terminal_format as fmt
    from dltrack.viewing.terminal_view import TerminalView

    f = Feed()
    s = st.MonitorState(MID)
    view = TerminalView(out=_Sink(), live=True)
    for _ in range(data.draw(hs.integers(1, 6))):
        message = data.draw(hostile_messages(f))
        parsed = p.parse_update(json.dumps(message))
        if parsed is None:
            continue  # the viewer never sees what does not parse
        s = st.apply_update(s, parsed, T0)
        snap = st.to_snapshot(s, T0 + 1)
        json.dumps(snap)
        view.update(snap)
        for t in snap["trainings"]:
            fmt.training_summary(t, T0)


class _Sink(io.StringIO):
    """A terminal that forgets what it is shown."""

    def write(self, text: str) -> int:
        return len(text)

    def isatty(self) -> bool:
        return True
