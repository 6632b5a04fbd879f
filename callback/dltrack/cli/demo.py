"""`dltrack demo`: train a small CNN in a child process and watch it here."""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
from typing import IO

from dltrack.cli.interrupt import say
from dltrack.cli.live import EXIT_INTERRUPTED, watch
from dltrack.cli.parsing import Subparsers, command, count, seconds
from dltrack.viewing import catalog as api
from dltrack.wire import config
from dltrack.wire.errors import ConfigError, DltrackError

DEMO_EXIT_WAIT_S = 30.0


def _check_demo_needs() -> None:
    missing = [name for name in ("keras", "sklearn") if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"the demo trains a Keras model on scikit-learn's digits ({', '.join(missing)} "
            "not installed): pip install 'dltrack[demo]'"
        )


def demo(broker: str | None, store: str | None, epochs: int, step_delay: float) -> int:
    """Train the demo CNN in a child process and watch it; Ctrl+C offers to stop or detach."""
    _check_demo_needs()
    model = api.find_or_create_model("dltrack demo", store=store)
    key = model.key
    print(f"demo model key: {key}")
    say(f"in a notebook too: %load_ext dltrack, then %dltrack {key}")
    env = dict(os.environ)
    if broker:
        env["DLTRACK_BROKER_URL"] = broker
    if store:
        env["DLTRACK_STORE_URL"] = store
    # TensorFlow's start-up chatter would garble the bars, and a training left running after
    # a detach must not write into the user's shell: its output goes to a file.
    log_path = config.resolve(broker, store).home / "demo.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # Appended to: a detached demo may still be writing to it.
    with log_path.open("a") as log_file:
        log_file.write(f"== dltrack demo, model {model.id}, {time.strftime('%c')}\n")
        log_file.flush()
        child = _start_demo(key, epochs, step_delay, env, log_file)
    detached: list[bool] = []
    try:
        code = watch(
            key,
            broker=broker,
            store=store,
            until_end=True,
            ended=lambda: child.poll() is not None,
            on_detach=lambda: detached.append(True),
        )
        if detached:
            same = " (with the same --broker/--store)" if broker or store else ""
            say(f"the demo training goes on (pid {child.pid}); stop it with")
            say(f"  dltrack stop {key}{same}")
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
    except BaseException:  # a third Ctrl+C, or an error: no training left behind unwatched
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
    key: str, epochs: int, step_delay: float, env: dict[str, str], log_file: IO[str]
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dltrack.training.demo_model",
            key,
            "--epochs",
            str(epochs),
            "--step-delay",
            str(step_delay),
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        # Its own session: Ctrl+C in this terminal reaches only the watcher, which asks
        # whether to stop the training or leave it running.
        start_new_session=True,
    )


def add_parser(subparsers: Subparsers) -> None:
    p = command(subparsers, "demo", demo, "train a small CNN and watch it live")
    p.add_argument("--epochs", type=count, default=10)
    p.add_argument("--step-delay", type=seconds, default=0.02, help=argparse.SUPPRESS)
