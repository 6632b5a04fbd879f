"""`dltrack watch` and `dltrack stop`: the CLI commands that hold a live Watcher."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from typing import Any

from . import api
from .errors import ConfigError
from .terminal_format import where
from .terminal_view import JsonLinesView, TerminalView
from .watcher import Watcher, default_sender

ANSWERED = ("acknowledged", "refused", "undelivered")


def _running(snap: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in snap["trainings"] if t["status"] in ("running", "lost")]


def watch(args: argparse.Namespace, child: subprocess.Popen[bytes] | None = None) -> int:
    """Follow the model until Ctrl-C (then offer to stop), the end (--until-end) or --timeout."""
    view: TerminalView | JsonLinesView = JsonLinesView() if args.json else TerminalView()
    watcher = Watcher(
        args.key, broker=args.broker, store=args.store, sender=default_sender("dltrack watch")
    ).start()
    watcher.add_listener(view.update)
    deadline = time.monotonic() + args.timeout if args.timeout else None
    seen_running: set[str] = set()
    try:
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.2)
            if not args.until_end:
                continue
            running = {t["training_id"] for t in _running(watcher.snapshot())}
            seen_running |= running
            if child is not None and child.poll() is not None and not running:
                break  # the demo's training process ended
            if seen_running and not running:
                break
        return 0
    except KeyboardInterrupt:
        view.close()
        return _offer_stop(watcher)
    finally:
        time.sleep(0.3)  # let the final snapshot reach the view
        watcher.close()
        view.close()


def _offer_stop(watcher: Watcher) -> int:
    if not _running(watcher.snapshot()):
        return 0
    if not sys.stdin.isatty():
        print("detached; the training goes on", file=sys.stderr)
        return 0
    try:
        answer = input("\nStop the training? [y = stop it / N = just detach] ")
    except (KeyboardInterrupt, EOFError):
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        print("detached; the training goes on")
        return 0
    return _stop_and_report(watcher, None, False, wait=True, timeout=30.0)


def stop(args: argparse.Namespace) -> int:
    """Send a stop and exit 0 once the training acknowledged it."""
    with Watcher(
        args.key, broker=args.broker, store=args.store, sender=default_sender("dltrack stop")
    ) as watcher:
        training_id = None
        if args.training:
            with api.open_settings_store(args.store) as store:
                training_id = api.find_training(store, args.key, args.training).training_id
        return _stop_and_report(watcher, training_id, args.after_epoch, args.wait, args.timeout)


def _stop_and_report(
    watcher: Watcher, training_id: str | None, after_epoch: bool, wait: bool, timeout: float
) -> int:
    command_id = watcher.stop_training(training_id, after_epoch=after_epoch)

    def answered(snap: dict[str, Any]) -> bool:
        return any(c["id"] == command_id and c["state"] in ANSWERED for c in snap["commands"])

    snap = watcher.wait_for(answered, timeout)
    if snap is None:
        raise ConfigError(
            f"no answer from the training within {timeout:g}s; it may be busy in a long batch "
            "or its broker connection is down: try again, or interrupt it where it runs"
        )
    command = next(c for c in snap["commands"] if c["id"] == command_id)
    if command["state"] == "undelivered":
        print(f"dltrack: error: {command['detail']}", file=sys.stderr)
        return 1
    if command["state"] == "refused":
        print(f"dltrack: the training refused: {command['detail']}", file=sys.stderr)
        return 1
    what = "after this epoch" if after_epoch else "after the current batch"
    print(f"stop acknowledged: the training stops {what}")
    if wait:
        return _wait_stopped(watcher, training_id, timeout)
    return 0


def _wait_stopped(watcher: Watcher, training_id: str | None, timeout: float) -> int:
    def ended(snap: dict[str, Any]) -> bool:
        targets = [
            t for t in snap["trainings"] if training_id is None or t["training_id"] == training_id
        ]
        return bool(targets) and not any(t["status"] in ("running", "lost") for t in targets)

    # stop_after_epoch may take a whole epoch: wait generously, this is what was asked for.
    snap = watcher.wait_for(ended, max(timeout, 600.0))
    if snap is None:
        print("dltrack: the training has not ended yet", file=sys.stderr)
        return 1
    for t in snap["trainings"]:
        if (
            t["status"] == "stopped"
            and t.get("stop")
            and (training_id is None or t["training_id"] == training_id)
        ):
            print(f"training #{t['number']} stopped{where(t['stop'])}")
    return 0
