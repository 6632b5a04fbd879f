"""Steering commands pass the same authentication as stops, before any per-kind check.

A unit test of `BrokerLink._handle_command` alone: the controller is a recorder, and
publishing is captured (the real-broker path is tests/test_command_auth.py and test_control.py).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from dltrack.training.broker_link import BrokerLink
from dltrack.training.fit_frame import FitFrame
from dltrack.training.session import TrainingSession
from dltrack.wire import auth, config
from dltrack.wire.keys import new_model_key, new_training_id, viewing_token
from dltrack.wire.protocol import (
    ADD_RULE,
    CHECKPOINT,
    PAUSE,
    REMOVE_RULE,
    RESUME,
    SET_LR,
    Command,
    CommandKind,
)

KINDS: list[tuple[CommandKind, dict[str, Any]]] = [
    (SET_LR, {"value": 0.001}),
    (PAUSE, {}),
    (RESUME, {}),
    (CHECKPOINT, {}),
    (ADD_RULE, {"when": "nan", "action": "stop"}),
    (REMOVE_RULE, {"id": "r1"}),
]


class Recorder:
    def __init__(self) -> None:
        self.checked: list[str] = []
        self.accepted: list[str] = []

    def check(self, command: Command) -> str | None:
        self.checked.append(command.id)
        return None

    def accept(self, command: Command) -> None:
        self.accepted.append(command.id)


def link() -> tuple[BrokerLink, Recorder, list[dict[str, Any]], str]:
    key = new_model_key()
    session = TrainingSession(config.resolve(), key, new_training_id(), {}, 1.0)
    recorder = Recorder()
    made = BrokerLink(session, FitFrame(None, 0), controller=recorder)  # type: ignore[arg-type]
    sent: list[dict[str, Any]] = []
    made._publish = lambda kind, **body: sent.append({"type": kind, **body})  # type: ignore[method-assign]
    return made, recorder, sent, key


def resign(command: Command, secret: str) -> Command:
    unsigned = dataclasses.replace(command, mac=None)
    return dataclasses.replace(unsigned, mac=auth.mac(unsigned.to_message(), secret.encode()))


@pytest.mark.parametrize(("kind", "args"), KINDS)
def test_forged_steering_is_refused_before_the_controller_sees_it(
    kind: CommandKind, args: dict[str, Any]
) -> None:
    made, recorder, sent, key = link()
    tid = made.session.training_id
    forged = {
        "unsigned": dataclasses.replace(Command.new(kind, key, tid, "m", args), mac=None),
        "foreign key": resign(Command.new(kind, key, tid, "m", args), new_model_key()),
        "viewing token": resign(Command.new(kind, key, tid, "m", args), viewing_token(key)),
    }
    for command in forged.values():
        made._handle_command(command)
    assert recorder.checked == [] and recorder.accepted == []
    assert [(a["accepted"], a["reason"]) for a in sent] == [
        (False, auth.UNSIGNED),
        (False, auth.BAD_MAC),
        (False, auth.BAD_MAC),
    ]


@pytest.mark.parametrize(("kind", "args"), KINDS)
def test_signed_steering_reaches_the_controller_once_and_its_ack_holds_no_key(
    kind: CommandKind, args: dict[str, Any]
) -> None:
    made, recorder, sent, key = link()
    command = Command.new(kind, key, made.session.training_id, "owner", args)
    made._handle_command(command)
    made._handle_command(command)  # a replay
    assert recorder.checked == [command.id] and recorder.accepted == [command.id]
    assert [(a["accepted"], a["reason"]) for a in sent] == [(True, None), (False, auth.REPLAYED)]
    assert sent[0]["command_kind"] == kind and sent[0]["sender"] == "owner"
    assert key not in json.dumps(sent)
