"""Hostile input on both channels (docs/architecture.md, invariant 7), over the real broker.

Whoever can publish to the broker can send a training any bytes on its command queue and a
viewer any bytes on its update feed. The training ignores everything but a valid command
addressed to it (each ignored one counted and logged at debug, none raised); viewers never
crash and never show anything but well-formed state; names stay verbatim text, for the front
end to show with textContent.
"""

from __future__ import annotations

import io
import json
import math
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pika
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dltrack import Tracker, Watcher, create_model
from dltrack.backends.amqp_broker import COMMANDS_EXCHANGE, UPDATES_EXCHANGE
from dltrack.viewing.state import MonitorState, apply_update, to_snapshot
from dltrack.viewing.terminal_view import JsonLinesView, TerminalView
from dltrack.wire.keys import is_training_id, model_id, new_model_key, new_training_id
from dltrack.wire.protocol import (
    COMMAND_KINDS,
    PAUSE,
    VERSION,
    Command,
    encode,
    make_update,
    parse_update,
)
from dltrack_widget._payload import split_snapshot
from tests.helpers import run_cli, wait_until
from tests.reliability.support import captured_logs, drive, record_figure

FUZZ = settings(
    max_examples=250,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- what hostile bytes look like -----------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(["<script>alert(1)</script>", "all", "stop", "command", "", "\x00"])
    | st.sampled_from([10**400, -(10**400), 2**53, 2**64, -1, 1e308, -1e308, 5e-324])
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def dumps(value: Any) -> bytes:
    # allow_nan: NaN and Infinity are what a hostile peer would send; Python's parser takes them.
    return json.dumps(value, allow_nan=True).encode()


def deep(n: int) -> bytes:
    return b"[" * n + b"]" * n


# What makes a command field valid for *this* training (docs/protocol.md); anything else must
# be ignored.
def _valid_field(name: str, value: Any, key: str, training_id: str, started_at: float) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return {
        "v": lambda: value == VERSION,
        "type": lambda: value == "command",
        "id": lambda: is_training_id(value),
        "kind": lambda: isinstance(value, str) and value in COMMAND_KINDS,
        "model_id": lambda: value == model_id(key),
        # No drawn value is the right 256-bit MAC.
        "mac": lambda: False,
        "target": lambda: value in (training_id, "all"),
        "sender": lambda: isinstance(value, str),
        "ts": lambda: (
            number and math.isfinite(min(float(value), 1e300)) and value > started_at - 30
        ),
    }[name]()


COMMAND_FIELDS = ("v", "type", "id", "kind", "model_id", "target", "sender", "ts", "mac")


@st.composite
def hostile_commands(draw: Any, key: str, training_id: str, started_at: float) -> bytes:
    """Bytes that must never make the training do anything."""
    valid = Command.new("stop", key, training_id, "fuzz").to_message()
    how = draw(
        st.sampled_from(
            ["bytes", "json", "missing", "wrong", "other key", "other training", "old", "large"]
        )
    )
    if how == "bytes":
        return bytes(draw(st.binary(max_size=300)))
    if how == "json":
        return dumps(draw(json_values.filter(lambda v: not isinstance(v, dict))))
    message = dict(valid)
    if how == "missing":
        del message[draw(st.sampled_from(COMMAND_FIELDS))]
    elif how == "wrong":
        name = draw(st.sampled_from(COMMAND_FIELDS))
        message[name] = draw(
            json_values.filter(lambda v: not _valid_field(name, v, key, training_id, started_at))
        )
    elif how == "other key":
        message["model_id"] = model_id(new_model_key())
    elif how == "other training":
        message["target"] = new_training_id()
    elif how == "old":  # a stop recorded long ago and replayed
        message["ts"] = started_at - draw(st.floats(min_value=31, max_value=1e9))
    else:  # valid in every field, but far larger than any command
        message["padding"] = "x" * draw(st.integers(min_value=300_000, max_value=3_000_000))
    return dumps(message)


# -- a running training to aim at ----------------------------------------------------------------


class RunningTraining:
    """A real Tracker on the real broker, driven by the fake loop on a thread until stopped."""

    def __init__(self, key: str, broker: str) -> None:
        self.tracker = Tracker(key, broker=broker)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.run: Any = None
        self.thread.start()
        wait_until(lambda: self.tracker._session is not None, 30, "the training to start")
        wait_until(lambda: self.session.broker_connected, 30, "the training to reach the broker")

    @property
    def session(self) -> Any:
        return self.tracker._session

    def _run(self) -> None:
        self.run = drive(self.tracker, epochs=100_000, steps=20, step_delay=0.002)


@pytest.fixture
def publisher(amqp_url: str) -> Iterator[Any]:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    yield channel
    connection.close()


def _last_count(messages: list[str], what: str) -> int:
    pattern = re.compile(rf"{what} a command \((\d+) so far\)")
    counts = [int(m.group(1)) for m in map(pattern.match, messages) if m is not None]
    return counts[-1] if counts else 0


def turned_away(messages: list[str]) -> int:
    return _last_count(messages, "ignored") + _last_count(messages, "refused")


@pytest.mark.amqp
@pytest.mark.slow
def test_training_ignores_all_but_valid_commands_addressed_to_it(
    amqp_url: str, publisher: Any
) -> None:
    key = create_model("fuzzed commands").key
    with captured_logs() as logs:
        training = RunningTraining(key, amqp_url)
        session = training.session
        tid = str(training.tracker.training_id)
        sent = 0

        def send(body: bytes, to: str = tid) -> None:
            nonlocal sent
            publisher.basic_publish(COMMANDS_EXCHANGE, f"{model_id(key)}.{to}", body)
            sent += 1

        @FUZZ
        @given(
            body=hostile_commands(key, tid, session.started_at), to=st.sampled_from([tid, "all"])
        )
        def fuzz(body: bytes, to: str) -> None:
            send(body, to)

        fuzz()
        for n in (1_000, 100_000):  # nesting deep enough to exhaust a recursive parser
            send(deep(n))
        for name in COMMAND_FIELDS:  # numbers no float can hold, once in every field
            valid = Command.new("stop", key, tid, "fuzz").to_message()
            for extreme in (10**400, -(10**400), 2**64, float("nan"), float("inf")):
                send(dumps({**valid, name: extreme}))
        flood_started = time.monotonic()
        for i in range(3_000):  # a flood: garbage and stops for another training
            other = Command.new("stop", key, new_training_id(), "flood").to_message()
            send(encode(other) if i % 2 else b"{" * (i % 50))
        # Each is either dropped unread (malformed, not addressed here) or refused with an ack
        # that says why (a signature that does not hold, a stale or altered command).
        wait_until(lambda: turned_away(logs.messages()) >= sent, 60, f"{sent} turned away")
        flood_s = time.monotonic() - flood_started
        assert turned_away(logs.messages()) == sent
        assert session.stop_request is None and not training.tracker.model.stop_training
        assert training.thread.is_alive()
        assert not [m for m in logs.messages() if "failed" in m or "Traceback" in m]

        # Only now a valid command addressed to it: acknowledged and carried out, exactly once.
        # A pause, so that the training is still there to read the replay that follows (a
        # stop after a 40 ms epoch could end it before the replay arrived).
        with Watcher(key, broker=amqp_url) as watcher:
            pause_id = watcher.send(PAUSE, tid)
            acked = watcher.wait_for(
                lambda s: any(
                    c["id"] == pause_id and c["state"] in ("acknowledged", "done")
                    for c in s["commands"]
                ),
                15,
            )
            assert acked is not None, watcher.snapshot()["commands"]
            wait_until(lambda: session.paused_since is not None, 15, "the pause carried out")
            # Its id again, unsigned: refused (a byte-for-byte replay: tests/test_command_auth.py).
            send(
                encode(
                    Command(pause_id, PAUSE, model_id(key), tid, "replay", time.time()).to_message()
                )
            )
            wait_until(lambda: turned_away(logs.messages()) == sent, 10, "the replay turned away")
            stop_id = watcher.stop_training(tid)
            training.thread.join(30)
            assert not training.thread.is_alive()
    assert training.run.model.stop_training
    assert session.status == "stopped" and session.stop.command.id == stop_id
    pauses = [e for e in session.recent_events if e["kind"] == PAUSE]
    assert [e["command_id"] for e in pauses] == [pause_id]
    assert not [r for _, r, _ in logs.records if r.levelname in ("WARNING", "ERROR")]
    record_figure("command_fuzz", hostile_commands_sent=sent, flood_3000_drained_s=flood_s)


# -- viewers ----------------------------------------------------------------------------------

STATUSES = {"running", "lost", "completed", "stopped", "failed", "interrupted"}


def assert_sane(snap: dict[str, Any]) -> None:
    """A snapshot any view can show: strict JSON, and every field of the expected shape."""
    json.dumps(snap, allow_nan=False)
    for t in snap["trainings"]:
        assert is_training_id(t["training_id"]), t["training_id"]
        assert t["status"] in STATUSES, t["status"]
        for record in t["epochs"]:
            assert isinstance(record["epoch"], int)
            assert all(isinstance(v, float | int) for v in record["logs"].values())
        current = t["current"]
        if current is not None:
            assert isinstance(current["step"], int) and isinstance(current["epoch"], int)
    for c in snap["commands"]:
        assert c["state"] in {
            "sending",
            "sent",
            "acknowledged",
            "done",
            "failed",
            "refused",
            "undelivered",
        }


def render_everywhere(snap: dict[str, Any]) -> None:
    """Every view of a snapshot: terminal bars, JSON lines, the widget's two traits."""
    view = TerminalView(io.StringIO(), live=True)
    view.update(snap)
    view.update({**snap, "now": snap["now"] + 30})
    view.close()
    JsonLinesView(io.StringIO()).update(snap)
    state, history = split_snapshot(snap)
    json.dumps([state, history], allow_nan=False)


KEY = new_model_key()
MID = model_id(KEY)
TIDS = [new_training_id() for _ in range(3)]
numbers = (
    st.integers(min_value=0, max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1e308, -1e308, 5e-324, 0.0, 2**53, 2**64, 10**400])
)
names = st.text(max_size=12) | st.sampled_from(["<img src=x onerror=alert(1)>", "val_loss"])
logs_values = st.dictionaries(names, numbers, max_size=4)
UPDATE_TYPES = ["train_begin", "epoch_begin", "progress", "epoch_end", "train_end", "heartbeat"]


@st.composite
def plausible_updates(draw: Any) -> bytes:
    """Update messages close to valid (so many pass parsing) with extreme values in them."""
    kind = draw(st.sampled_from([*UPDATE_TYPES, "ack"]))
    body: dict[str, Any] = {
        "params": {"epochs": draw(st.none() | numbers), "steps": draw(st.none() | numbers)},
        "epoch": draw(numbers),
        "step": draw(numbers),
        "steps": draw(st.none() | numbers),
        "logs": draw(logs_values),
        "status": draw(st.sampled_from(["completed", "stopped", "failed", "running", "x"])),
        "final_logs": draw(logs_values),
        "started_at": draw(numbers),
        "ended_at": draw(numbers),
        "command_id": new_training_id(),
        "accepted": draw(st.booleans()),
        "snapshot": {
            "status": "running",
            "epoch": draw(numbers),
            "step": draw(numbers),
            "steps": draw(st.none() | numbers),
            "logs": draw(logs_values),
            "epochs": [{"epoch": draw(numbers), "logs": draw(logs_values)}],
            "epoch_started_at": draw(numbers),
            "number": draw(st.none() | numbers),
        },
    }
    message = make_update(kind, MID, draw(st.sampled_from(TIDS)), draw(numbers), **body)
    message["ts"] = draw(numbers)
    if draw(st.booleans()):
        message[draw(st.sampled_from(list(message)))] = draw(json_values)
    return dumps(message)


any_update = plausible_updates() | st.binary(max_size=200) | json_values.map(dumps)


@given(st.lists(any_update, max_size=25), st.floats(min_value=0, max_value=2e9))
@settings(max_examples=300, deadline=None, database=None)
def test_reducer_and_views_survive_any_update_sequence(raws: list[bytes], now: float) -> None:
    state = MonitorState(MID)
    for raw in raws:
        message = parse_update(raw)  # never raises: None for what it refuses
        if message is not None:
            state = apply_update(state, message, now)
    snap = to_snapshot(state, now)
    assert_sane(snap)
    render_everywhere(snap)


@pytest.mark.amqp
@pytest.mark.slow
def test_viewer_survives_hostile_updates(amqp_url: str, publisher: Any) -> None:
    key = create_model("fuzzed updates").key
    training = RunningTraining(key, amqp_url)
    tid = str(training.tracker.training_id)
    rendered: list[dict[str, Any]] = []
    mid = model_id(key)
    with captured_logs() as logs, Watcher(key, broker=amqp_url) as watcher:
        watcher.add_listener(rendered.append)
        watcher.add_listener(render_everywhere)
        wait_until(lambda: (watcher.snapshot()["trainings"] or [{}])[0].get("current"), 30)
        sent = 0

        @FUZZ
        @given(body=any_update, kind=st.sampled_from([*UPDATE_TYPES, "ack", "x"]))
        def fuzz(body: bytes, kind: str) -> None:
            nonlocal sent
            raw = body.replace(MID.encode(), mid.encode())  # aimed at this viewer's model
            publisher.basic_publish(UPDATES_EXCHANGE, f"{mid}.{new_training_id()}.{kind}", raw)
            sent += 1

        fuzz()
        extremes = [
            make_update("progress", mid, tid, 1, epoch=0, step=1, steps=10, logs={"loss": big})
            for big in (10**400, 2**64, float("inf"))
        ] + [{**make_update("epoch_begin", mid, tid, 2, epoch=0), "ts": 10**400}]
        for raw in (
            deep(100_000),
            b"x" * 3_000_000,
            dumps({"v": 1, "type": "progress"}),
            *map(dumps, extremes),
        ):
            publisher.basic_publish(UPDATES_EXCHANGE, f"{key}.{tid}.progress", raw)
        # The real training still shows, moving.
        snap = watcher.snapshot()
        step = next(t for t in snap["trainings"] if t["training_id"] == tid)["current"]
        moved = watcher.wait_for(
            lambda s: next(t for t in s["trainings"] if t["training_id"] == tid)["current"] != step,
            10,
        )
        assert moved is not None
        assert all(t.is_alive() for t in watcher._threads)
        assert_sane(watcher.snapshot())
    training.tracker.model.stop_training = True
    training.thread.join(30)
    for snap in rendered:
        assert_sane(snap)
    problems = [m for _, r, m in logs.records if r.levelname in ("WARNING", "ERROR")]
    assert problems == []
    assert logs.messages().count("ignored a malformed update") > 0
    record_figure("update_fuzz", hostile_updates_sent=sent, snapshots_rendered=len(rendered))


# -- names are text ---------------------------------------------------------------------------

MODEL_NAME = "<img src=x onerror=\"alert('name')\"> & <b>bold</b>"
METRIC = "<script>alert('metric')</script>"


@pytest.mark.amqp
@pytest.mark.firestore
@pytest.mark.slow
def test_html_in_names_stays_verbatim_text(amqp_url: str, firestore_url: str) -> None:
    from dltrack_widget import TrainingMonitor
    from dltrack_widget.magics import ModelList

    key = create_model(MODEL_NAME, store=firestore_url).key
    urls = ["--broker", amqp_url, "--store", firestore_url]
    widget = TrainingMonitor(key, broker=amqp_url, store=firestore_url)
    try:
        tracker = Tracker(key, broker=amqp_url, store=firestore_url)
        drive(tracker, epochs=2, steps=3, metrics=lambda e: {METRIC: float(e), "loss": 1.0})
        wait_until(
            lambda: widget.state["trainings"] and widget.history,
            15,
            "the widget to show the finished training",
        )
        state = widget.get_state()
        assert state["state"]["model"]["name"] == MODEL_NAME
        (epochs,) = state["history"].values()
        assert [METRIC in e["logs"] for e in epochs] == [True, True]
        assert widget.state["trainings"][0]["final_logs"][METRIC] == 1.0
    finally:
        widget.close()

    from dltrack.backends import open_store

    store = open_store(firestore_url)
    try:
        model = store.get_model(key)
        assert model is not None and model.name == MODEL_NAME
        (training,) = store.list_trainings(key)
        assert METRIC in training.final_logs
    finally:
        store.close()

    listing = run_cli("models", "list", "--store", firestore_url)
    assert MODEL_NAME in listing.stdout
    shown = run_cli("trainings", "show", key, "1", *urls)
    assert shown.returncode == 0 and MODEL_NAME in shown.stdout and METRIC in shown.stdout
    trainings = run_cli("trainings", "list", key, *urls)
    assert MODEL_NAME in trainings.stdout and METRIC in trainings.stdout
    as_json = json.loads(run_cli("trainings", "list", key, "--json", *urls).stdout)
    assert as_json["model"]["name"] == MODEL_NAME
    watched = run_cli("watch", key, "--json", "--timeout", "2", *urls)
    snaps = [json.loads(line) for line in watched.stdout.splitlines()]
    assert snaps and snaps[-1]["model"]["name"] == MODEL_NAME
    assert METRIC in snaps[-1]["trainings"][0]["final_logs"]
    # Where dltrack writes HTML itself (the model list of `%dltrack`), it escapes.
    models = ModelList([store_model(key, firestore_url)])
    assert MODEL_NAME not in models._repr_html_() and "&lt;img" in models._repr_html_()
    assert MODEL_NAME in repr(models)


def store_model(key: str, store_url: str) -> Any:
    from dltrack.backends import open_store

    store = open_store(store_url)
    try:
        return store.get_model(key)
    finally:
        store.close()
