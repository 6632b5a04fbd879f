"""`dltrack watch` and `dltrack stop`: the commands that hold a live Watcher."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dltrack.cli import interrupt
from dltrack.cli.parsing import Subparsers, command, seconds
from dltrack.viewing.terminal_format import where
from dltrack.wire.errors import ConfigError
from dltrack.wire.records import LIVE_STATUSES

if TYPE_CHECKING:  # imported when used: every other command starts faster without them
    from dltrack.viewing.terminal_view import JsonLinesView, TerminalView
    from dltrack.viewing.watcher import Watcher

# Every state past "sent": the ack and the training's end can come in one read, and then the
# stop is seen "done" without ever having been seen "acknowledged".
ANSWERED = ("acknowledged", "done", "failed", "refused", "undelivered")
EXIT_INTERRUPTED = 130  # Ctrl+C, as shells report it
STOP_ANSWER_TIMEOUT_S = 30.0


def running(snap: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in snap["trainings"] if t["status"] in LIVE_STATUSES]


def watch(
    key: str,
    broker: str | None = None,
    store: str | None = None,
    as_json: bool = False,
    until_end: bool = False,
    timeout: float | None = None,
    ended: Callable[[], bool] | None = None,
    on_detach: Callable[[], None] | None = None,
) -> int:
    """Follow the model until Ctrl+C (then offer to stop), the end (`until_end`) or `timeout`.

    `ended`: says the demo's training process has exited (its end ends the watch);
    `on_detach` is called when the user leaves a running training running."""
    from dltrack.viewing.terminal_view import JsonLinesView, TerminalView
    from dltrack.viewing.watcher import Watcher, default_sender

    view: TerminalView | JsonLinesView = JsonLinesView() if as_json else TerminalView()
    watcher = Watcher(key, broker=broker, store=store, sender=default_sender("dltrack watch"))
    watcher.start()
    watcher.add_listener(view.update)
    deadline = None if timeout is None else time.monotonic() + timeout
    seen_running: set[str] = set()
    try:
        with interrupt.own_foreground(), interrupt.quiet_terminal():
            try:
                while deadline is None or time.monotonic() < deadline:
                    time.sleep(0.2)
                    if not until_end:
                        continue
                    now_running = {t["training_id"] for t in running(watcher.snapshot())}
                    seen_running |= now_running
                    if ended is not None and ended() and not now_running:
                        break  # the demo's training process ended
                    if seen_running and not now_running:
                        break
            except KeyboardInterrupt:
                return _offer_stop(watcher, view, on_detach)
        time.sleep(0.3)  # let the final snapshot reach the view
        return 0
    finally:
        watcher.close()
        view.close()


def _offer_stop(
    watcher: Watcher, view: TerminalView | JsonLinesView, on_detach: Callable[[], None] | None
) -> int:
    try:
        view.close()  # for good: nothing may draw over the question or the answer
        targets = running(watcher.snapshot())
        if not targets:
            return EXIT_INTERRUPTED
        stop = interrupt.ask_stop([t["number"] for t in targets])
    except KeyboardInterrupt:  # a second Ctrl+C before the question showed: the same answer
        stop = True
    if not stop:
        interrupt.notice("detached; the training goes on")
        if on_detach is not None:
            on_detach()
        return 0
    return _stop_and_report(watcher, None, False, wait=True, timeout=STOP_ANSWER_TIMEOUT_S)


def stop(
    key: str,
    broker: str | None,
    store: str | None,
    training: str | None,
    after_epoch: bool,
    wait: bool,
    timeout: float,
    save: bool = False,
) -> int:
    """Send a stop and exit 0 once the training acknowledged it (`save`: once the checkpoint
    is written and the training has ended)."""
    from dltrack.viewing import catalog as api
    from dltrack.viewing.watcher import Watcher, default_sender

    with Watcher(key, broker=broker, store=store, sender=default_sender("dltrack stop")) as w:
        training_id = None
        if training:
            with api.open_settings_store(store) as opened:
                training_id = api.find_training(opened, key, training).training_id
        if save:
            if after_epoch:
                raise ConfigError("choose --after-epoch or --save, not both")
            from dltrack.cli.control import run_command

            code = run_command(w, lambda: w.stop_training(training_id, save=True), timeout)
            return _wait_stopped(w, training_id, timeout) if code == 0 else code
        return _stop_and_report(w, training_id, after_epoch, wait, timeout)


def answer_of(
    watcher: Watcher, command_id: str, states: tuple[str, ...], timeout: float, advice: str
) -> dict[str, Any]:
    """The command as the viewer last saw it, once its state is one of `states`; a
    `ConfigError` ending in `advice` when no such answer comes within `timeout` s."""

    def answered(snap: dict[str, Any]) -> bool:
        return any(c["id"] == command_id and c["state"] in states for c in snap["commands"])

    snap = watcher.wait_for(answered, timeout)
    if snap is None:
        raise ConfigError(
            f"no answer from the training within {timeout:g}s; it may be busy in a long batch "
            f"or its broker connection is down: {advice}"
        )
    return next(c for c in snap["commands"] if c["id"] == command_id)


def _stop_and_report(
    watcher: Watcher, training_id: str | None, after_epoch: bool, wait: bool, timeout: float
) -> int:
    command_id = watcher.stop_training(training_id, after_epoch=after_epoch)
    advice = "try again, or interrupt it where it runs"
    sent = answer_of(watcher, command_id, ANSWERED, timeout, advice)
    if sent["state"] == "undelivered":
        interrupt.notice(f"dltrack: error: {sent['detail']}")
        return 1
    if sent["state"] == "refused":
        interrupt.notice(f"dltrack: the training refused: {sent['detail']}")
        return 1
    if sent["state"] == "failed":
        interrupt.notice(f"dltrack: the stop failed: {sent['detail']}")
        return 1
    what = "after this epoch" if after_epoch else "after the current batch"
    interrupt.say(f"stop acknowledged: the training stops {what}")
    if wait:
        return _wait_stopped(watcher, training_id, timeout)
    return 0


def _wait_stopped(watcher: Watcher, training_id: str | None, timeout: float) -> int:
    def over(snap: dict[str, Any]) -> bool:
        targets = [
            t for t in snap["trainings"] if training_id is None or t["training_id"] == training_id
        ]
        return bool(targets) and not any(t["status"] in LIVE_STATUSES for t in targets)

    # stop_after_epoch may take a whole epoch: wait generously, this is what was asked for.
    snap = watcher.wait_for(over, max(timeout, 600.0))
    if snap is None:
        interrupt.notice("dltrack: the training has not ended yet")
        return 1
    for t in snap["trainings"]:
        if (
            t["status"] == "stopped"
            and t.get("stop")
            and (training_id is None or t["training_id"] == training_id)
        ):
            interrupt.say(f"training #{t['number']} stopped{where(t['stop'])}")
    return 0


def add_parser(subparsers: Subparsers) -> None:
    p = command(subparsers, "watch", watch, "live bars in the terminal", json=True)
    p.add_argument("key")
    p.add_argument("--until-end", action="store_true", help="exit once the running ones ended")
    p.add_argument("--timeout", type=seconds, help="exit after this many seconds")

    p = command(subparsers, "stop", stop, "stop a running training")
    p.add_argument("key")
    p.add_argument("--training", help="training number or id (default: every running one)")
    p.add_argument("--after-epoch", action="store_true", help="stop once this epoch ends")
    p.add_argument("--save", action="store_true", help="save a checkpoint (.keras), then stop")
    p.add_argument("--wait", action="store_true", help="also wait until the training has ended")
    p.add_argument("--timeout", type=seconds, default=15.0, help="seconds to wait for an answer")
