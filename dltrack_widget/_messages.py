"""What a front end may ask of its Watcher: one handler for the widget's comm and the page's
websocket, so both accept exactly the same messages."""

from __future__ import annotations

import logging
from typing import Any

from dltrack.viewing.watcher import Watcher
from dltrack.wire.errors import DltrackError

log = logging.getLogger("dltrack")


# Front-end actions that are commands to a training, by their protocol kind.
STEERING = frozenset({"set_lr", "pause", "resume", "checkpoint", "add_rule", "remove_rule"})


def apply_front_end_message(watcher: Watcher, content: Any) -> None:
    """Do what `content` (`{"action": ...}` from js/) asks; anything else is ignored.

    The front end checks what it sends; whatever else arrives (junk, an id that is not one,
    an empty name) is dropped without a traceback.
    """
    if not isinstance(content, dict):
        return
    action = content.get("action")
    training_id = content.get("training_id")
    try:
        if action == "stop" and (training_id is None or isinstance(training_id, str)):
            watcher.stop_training(
                training_id,
                after_epoch=content.get("after_epoch") is True,
                save=content.get("save") is True,
            )
        elif action in STEERING and (training_id is None or isinstance(training_id, str)):
            # Same comm, same route as Stop (a subshell when there is one): it reaches a
            # training running in this very kernel. The Watcher checks the arguments.
            args = content.get("args")
            watcher.send(action, training_id, args if isinstance(args, dict) else {})
        elif action == "delete_training" and isinstance(training_id, str):
            watcher.delete_training(training_id)
        elif action == "delete_model":
            watcher.delete_model()
        elif action == "rename_model" and isinstance(content.get("name"), str):
            watcher.rename_model(content["name"])
    except DltrackError as exc:
        log.debug("ignored a front-end message: %s", exc)
