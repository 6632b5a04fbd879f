"""`dltrack watch`, `dltrack stop` and `dltrack demo`: the CLI commands that hold a live
Watcher."""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from dltrack.viewing import catalog as api
from dltrack.viewing.terminal_format import where
from dltrack.viewing.terminal_view import JsonLinesView, TerminalView
from dltrack.viewing.watcher import Watcher, default_sender
from dltrack.wire import config
from dltrack.wire.errors import ConfigError, DltrackError
from dltrack.wire.records import LIVE_STATUSES

ANSWERED = ("acknowledged", "refused", "undelivered")
EXIT_INTERRUPTED = 130  # Ctrl+C, as shells report it
DEMO_EXIT_WAIT_S = 30.0


def _running(snap: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in snap["trainings"] if t["status"] in LIVE_STATUSES]


def watch(
    args: argparse.Namespace,
    child: subprocess.Popen[bytes] | None = None,
    on_detach: Callable[[], None] | None = None,
) -> int:
    """Follow the model until Ctrl-C (then offer to stop), the end (--until-end) or --timeout.

    `child`: the demo's training process (its end ends the watch); `on_detach` is called when
    the user leaves a running training running."""
    view: TerminalView | JsonLinesView = JsonLinesView() if args.json else TerminalView()
    watcher = Watcher(
        args.key, broker=args.broker, store=args.store, sender=default_sender("dltrack watch")
    ).start()
    watcher.add_listener(view.update)
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
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
        return _offer_stop(watcher, on_detach)
    finally:
        time.sleep(0.3)  # let the final snapshot reach the view
        watcher.close()
        view.close()


def _offer_stop(watcher: Watcher, on_detach: Callable[[], None] | None) -> int:
    if not _running(watcher.snapshot()):
        return EXIT_INTERRUPTED
    answer = ""
    if sys.stdin.isatty():
        try:
            answer = input("\nStop the training? [y = stop it / N = just detach] ")
        except (KeyboardInterrupt, EOFError):
            answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        print("detached; the training goes on", file=sys.stderr)
        if on_detach is not None:
            on_detach()
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
        return bool(targets) and not any(t["status"] in LIVE_STATUSES for t in targets)

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


# -- demo --------------------------------------------------------------------------------------


def _check_demo_needs() -> None:
    missing = [name for name in ("keras", "sklearn") if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"the demo trains a Keras model on scikit-learn's digits ({', '.join(missing)} "
            "not installed): pip install 'dltrack[demo]'"
        )


def demo(args: argparse.Namespace) -> int:
    """Train the demo CNN in a child process and watch it; Ctrl+C offers to stop or detach."""
    _check_demo_needs()
    model = api.find_or_create_model("dltrack demo", store=args.store)
    print(f"demo model key: {model.key}")
    print(f"watch it from a notebook too:  %load_ext dltrack  then  %dltrack {model.key}")
    env = dict(os.environ)
    if args.broker:
        env["DLTRACK_BROKER_URL"] = args.broker
    if args.store:
        env["DLTRACK_STORE_URL"] = args.store
    # TensorFlow's start-up chatter would garble the bars, and a training left running after
    # a detach must not write into the user's shell: its output goes to a file.
    log_path = config.resolve(args.broker, args.store).home / "demo.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # Appended to: a detached demo may still be writing to it.
    with log_path.open("a") as log_file:
        log_file.write(f"== dltrack demo, model {model.key}, {time.strftime('%c')}\n")
        log_file.flush()
        child = _start_demo(model.key, args, env, log_file)
    detached: list[bool] = []
    try:
        args.key, args.json, args.until_end, args.timeout = model.key, False, True, None
        code = watch(args, child=child, on_detach=lambda: detached.append(True))
        if detached:
            same = " (with the same --broker/--store)" if args.broker or args.store else ""
            print(f"the demo training goes on (pid {child.pid}); stop it with")
            print(f"  dltrack stop {model.key}{same}")
            return code
        if code == EXIT_INTERRUPTED:  # Ctrl+C before the training started: nothing to keep
            _end(child)
            return code
        # Stopped or finished: it exits once it has handed over its last records.
        child.wait(timeout=DEMO_EXIT_WAIT_S)
    except subprocess.TimeoutExpired:
        _end(child)
        raise DltrackError(
            f"the demo training did not exit {DEMO_EXIT_WAIT_S:g}s after its end and was "
            f"terminated; see {log_path}"
        ) from None
    except BaseException:  # a second Ctrl+C, or an error: no training left behind unwatched
        _end(child)
        raise
    if child.returncode != 0:
        raise DltrackError(
            f"the demo training failed (exit status {child.returncode}); see {log_path}"
        )
    return code


def _end(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.terminate()
    child.wait()


def _start_demo(
    key: str, args: argparse.Namespace, env: dict[str, str], log_file: Any
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dltrack.training.demo_model",
            key,
            "--epochs",
            str(args.epochs),
            "--step-delay",
            str(args.step_delay),
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        # Its own session: Ctrl+C in this terminal reaches only the watcher, which asks
        # whether to stop the training or leave it running.
        start_new_session=True,
    )
