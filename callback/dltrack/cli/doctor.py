"""`dltrack doctor`: try the configured broker and store for real, and say what to fix.

Each check does a full round trip with throwaway names, then cleans up: the broker publishes an
update to a feed of its own and reads it back, and sends a command to a listener of its own; the
store creates a model, reads it back and deletes it. Details show URLs masked, never a secret.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from dltrack.cli.parsing import Subparsers, command
from dltrack.wire import config
from dltrack.wire.errors import DltrackError
from dltrack.wire.keys import model_id, new_model_key, new_training_id
from dltrack.wire.protocol import HEARTBEAT, STOP, Command, make_update, parse_command, parse_update

ROUND_TRIP_TIMEOUT_S = 5.0
DOCTOR_SENDER = "dltrack doctor"


@dataclass(frozen=True)
class Check:
    """One check: `detail` says what was found, or what is wrong and how to fix it."""

    name: str
    ok: bool
    detail: str


def _unexpected(exc: Exception) -> str:
    # Not a DltrackError, so its text was not written with secrets in mind: name the type only.
    return f"unexpected {type(exc).__name__}; run with a debugger or report it"


def _within(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.0)


def check_broker(url: str) -> Check:
    from dltrack.backends import open_broker

    shown = config.mask_url(url)
    started = time.monotonic()
    try:
        broker = open_broker(url)
    except DltrackError as exc:
        return Check("broker", False, str(exc))
    except Exception as exc:  # noqa: BLE001 - the doctor reports, never crashes
        return Check("broker", False, f"{shown}: {_unexpected(exc)}")
    try:
        key, training = new_model_key(), new_training_id()
        feed = broker.subscribe_updates(key)
        commands = broker.listen_commands(key, training)
        try:
            broker.publish_update(make_update(HEARTBEAT, model_id(key), training, 1, snapshot={}))
            deadline = time.monotonic() + ROUND_TRIP_TIMEOUT_S
            received: list[bytes] = []
            while not received and time.monotonic() < deadline:
                received = feed.poll(min(0.2, _within(deadline)))
            if not any(parse_update(body) for body in received):
                return Check(
                    "broker",
                    False,
                    f"{shown}: connected, but a published update did not come back within "
                    f"{ROUND_TRIP_TIMEOUT_S:g} s; check the broker's health (memory or disk alarm)",
                )
            command = Command.new(STOP, key, training, DOCTOR_SENDER)
            if not broker.send_command(command):
                return Check(
                    "broker",
                    False,
                    f"{shown}: a command to a listening training came back unroutable; "
                    "check that the user may bind queues to the dltrack.commands exchange",
                )
            got: list[bytes] = []
            while not got and time.monotonic() < deadline:
                got = commands.poll(min(0.2, _within(deadline)))
            if command not in [parse_command(body) for body in got]:
                return Check("broker", False, f"{shown}: a command was sent but never arrived")
        finally:
            feed.close()
            commands.close()
    except DltrackError as exc:
        return Check("broker", False, str(exc))
    except Exception as exc:  # noqa: BLE001
        return Check("broker", False, f"{shown}: {_unexpected(exc)}")
    finally:
        broker.close()
    elapsed = (time.monotonic() - started) * 1000
    return Check("broker", True, f"{shown}: update and command round trips work ({elapsed:.0f} ms)")


def check_store(url: str) -> Check:
    from dltrack.backends import open_store

    shown = config.mask_url(url)
    started = time.monotonic()
    try:
        store = open_store(url)
    except DltrackError as exc:
        return Check("store", False, str(exc))
    except Exception as exc:  # noqa: BLE001
        return Check("store", False, f"{shown}: {_unexpected(exc)}")
    try:
        model = store.create_model("dltrack doctor check (safe to delete)")
        try:
            found = store.get_model(model.id)
        finally:
            store.delete_model(model.id)
        if found is None or found.name != model.name:
            return Check("store", False, f"{shown}: a record was written but did not read back")
        if store.get_model(model.id) is not None:
            return Check("store", False, f"{shown}: a record could not be deleted")
    except DltrackError as exc:
        return Check("store", False, str(exc))
    except Exception as exc:  # noqa: BLE001
        return Check("store", False, f"{shown}: {_unexpected(exc)}")
    finally:
        store.close()
    elapsed = (time.monotonic() - started) * 1000
    detail = f"{shown}: write, read and delete work ({elapsed:.0f} ms)"
    if url.startswith("firestore://"):
        # The doctor runs as admin, which the rules do not bind: say what granted boxes need.
        detail += (
            "; training boxes with a `dltrack grant` token also need the shipped firestore.rules "
            "deployed (firebase deploy --only firestore:rules, or the console's Rules tab)"
        )
    return Check("store", True, detail)


def run_checks(settings: config.Settings) -> list[Check]:
    """Check the broker and the store of `settings`; never raises, never shows a secret."""
    return [check_broker(settings.broker_url), check_store(settings.store_url)]


def doctor(broker: str | None, store: str | None) -> int:
    from dltrack.cli.usage import describe

    settings = config.resolve(broker, store)
    ok = True
    for check in run_checks(settings):
        ok = ok and check.ok
        print(f"{'OK  ' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
    for line in describe(settings.broker_url, settings.store_url):
        print(f"USE   {line}")
    return 0 if ok else 1


def add_parser(subparsers: Subparsers) -> None:
    command(subparsers, "doctor", doctor, "check the broker and store settings")
