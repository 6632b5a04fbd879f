"""`Watcher`: follows one model — history from the store, live updates from the broker — and
tells listeners what changed, at most `max_rate` times a second (on average; two in a row may
come closer, see `ListenerRate`).

Two threads, mirroring the Tracker: the live thread owns the broker connection (updates in,
commands out); the store thread owns the store connection (history refreshes, deletes). Both
fold what they learn into one `MonitorState` through the pure reducer in `state.py`.
"""

from __future__ import annotations

import getpass
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any, cast

from dltrack.backends import open_broker
from dltrack.backends.broker import Broker, Feed
from dltrack.backends.reconnect import BrokerLine, Reconnecting
from dltrack.viewing import state as st
from dltrack.viewing.presence import Greeter
from dltrack.viewing.steering import Steering
from dltrack.viewing.store_side import StoreSide
from dltrack.wire import config
from dltrack.wire import protocol as p
from dltrack.wire.errors import BackendError, ConfigError, DltrackError
from dltrack.wire.keys import (
    check_model_ref,
    check_name,
    check_training_id,
    is_model_key,
    model_id_of,
)
from dltrack.wire.protocol import HEARTBEAT, Command, CommandKind, parse_update
from dltrack.wire.timing import (
    FIRST_CONNECT_TIMEOUT_S,
    LISTENER_RATE,
    LIVE_RECONNECT_CAP_S,
    VIEWER_POLL_S,
    WATCHER_CLOSE_JOIN_S,
)

log = logging.getLogger("dltrack")

Listener = Callable[[dict[str, Any]], None]


class ListenerRate:
    """A token bucket: `rate` calls a second on average, `burst` of them back to back.

    A strict minimum gap between calls made every change wait for the gap after the previous
    call, whatever caused that one (a heartbeat, a redraw): updates arriving ~100 ms apart with
    a few ms of jitter then waited ~10 ms each at the median (docs/benchmarks.md, History). A
    bucket lets a change that comes a little early through, and still caps the long-run rate.
    """

    def __init__(self, rate: float, burst: float = 2.0, now: float = 0.0) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._at = now

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now

    def wait(self, now: float) -> float:
        """Seconds until a call is allowed (0: now)."""
        self._refill(now)
        missing = 1.0 - self._tokens
        return missing / self.rate if missing > 1e-9 else 0.0  # not a float rounding's worth

    def take(self, now: float) -> bool:
        """Use up a call if one is allowed now."""
        if self.wait(now) > 0:
            return False
        self._tokens -= 1.0
        return True


def default_sender(via: str) -> str:
    try:
        who = f"{getpass.getuser()}@{socket.gethostname()}"
    except Exception:  # noqa: BLE001 - no user name in some containers
        who = socket.gethostname()
    return f"{who} ({via})"


class Watcher(Steering):
    """Follow a model's trainings live and send them commands.

    Args:
        model_key: The model to follow: its key (watch and control), or what
            `dltrack share KEY --read-only` printed (watch only: `can_control` is False).
        broker: Broker URL. Defaults to `DLTRACK_BROKER_URL`, else the local default.
        store: Store URL. Defaults to `DLTRACK_STORE_URL`, else the local default.
        max_rate: Most listener calls per second, on average. Defaults to `12.0`: a little
            above what one training sends (<= ~10 progress messages a second, plus its epoch
            events), so that its updates never queue behind the limit.
        sender: How commands from this watcher are signed. Defaults to `user@host (python)`.

    Example:

    ```python
    with Watcher(key) as w:
        w.add_listener(lambda snap: print(snap["trainings"][0]["status"]))
        w.stop_training()
    ```
    """

    def __init__(
        self,
        model_key: str,
        *,
        broker: str | None = None,
        store: str | None = None,
        max_rate: float = LISTENER_RATE,
        sender: str | None = None,
    ) -> None:
        ref = check_model_ref(model_key)
        # The key stays in this object (it signs commands); everything shown or sent uses the id.
        self.model_key: str | None = ref if is_model_key(ref) else None
        self.model_id = model_id_of(ref)
        self.can_control = self.model_key is not None
        self.settings = config.resolve(broker, store)
        if not max_rate > 0:
            raise ConfigError(
                f"max_rate must be a number of calls per second above 0, not {max_rate!r}"
            )
        self.max_rate = max_rate
        self.sender = sender or default_sender("python")
        self._state = st.with_connection(
            st.MonitorState(self.model_id),
            broker=config.mask_url(self.settings.broker_url),
            store=config.mask_url(self.settings.store_url),
        )
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._version = 0
        self._news_version = 0  # the last change listeners should hear of promptly
        self._listeners: list[Listener] = []
        self._outbox: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._feed: Feed | None = None  # the live thread's, for wake() from other threads
        self._closing = threading.Event()
        # The store is asked by key where it is known, so that it can tell a model that
        # awaits `dltrack migrate`; documents are named by the id either way.
        self._ref = ref
        self._store_side = StoreSide(
            self.settings.store_url, self.model_key or self.model_id, self._update, self._closing
        )
        self._first_connect = threading.Event()
        self._first_error: DltrackError | None = None
        self._threads: list[threading.Thread] = []
        self._greeter = Greeter()  # the live thread's

    # -- public API -------------------------------------------------------------------------

    def start(self) -> Watcher:
        """Load the model and connect; raises `DltrackError` (unknown key, bad URL, server
        unreachable or refusing) and then holds nothing open."""
        self._threads = [
            threading.Thread(target=self._store_side.run, name="dltrack-watch-store", daemon=True),
            threading.Thread(target=self._live_loop, name="dltrack-watch-live", daemon=True),
        ]
        self._threads[0].start()
        # The history first, so that a bad key or URL is the caller's error, and the first
        # snapshot already shows the trainings.
        if not self._store_side.loaded.wait(FIRST_CONNECT_TIMEOUT_S):
            self._store_side.first_error = BackendError("the store did not answer in time")
        if self._store_side.first_error is not None:
            self.close()
            raise self._store_side.first_error
        self._threads[1].start()
        self._first_connect.wait(FIRST_CONNECT_TIMEOUT_S)
        if self._first_error is not None:
            self.close()
            raise self._first_error
        return self

    def __enter__(self) -> Watcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return st.to_snapshot(self._state, time.time())

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], object], timeout: float
    ) -> dict[str, Any] | None:
        """Block until `predicate(snapshot)` holds; the snapshot, or None on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                snap = st.to_snapshot(self._state, time.time())
                if predicate(snap):
                    return snap
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(min(remaining, 0.5))

    def stop_training(
        self, training_id: str | None = None, after_epoch: bool = False, save: bool = False
    ) -> str:
        """Ask one training (or every running training of the model) to stop; returns the
        command id, whose fate shows in `snapshot()["commands"]`. `save=True` writes a
        checkpoint first (docs/control.md)."""
        if after_epoch and save:
            raise ConfigError("choose after_epoch or save, not both")
        kind = p.SAVE_AND_STOP if save else (p.STOP_AFTER_EPOCH if after_epoch else p.STOP)
        return self.send(kind, training_id)

    def send(
        self, kind: str, training_id: str | None = None, args: dict[str, Any] | None = None
    ) -> str:
        """Send a command of `kind` (protocol.COMMAND_KINDS); returns its id."""
        if training_id is not None:
            check_training_id(training_id)
        if kind not in p.COMMAND_KINDS or kind == p.HELLO:
            raise ConfigError(f"unknown command {kind!r}")
        command = Command.new(
            cast(CommandKind, kind), self._control_key(), training_id, self.sender, args
        )
        if p.parse_command(p.encode(command.to_message())) is None:
            raise ConfigError(
                "a command's arguments must be at most 16 numbers, strings (200 characters at "
                "most), booleans or nulls"
            )
        self._update(lambda s: st.command_queued(s, command, time.time()))
        self._outbox.put(command)
        feed = self._feed
        if feed is not None:
            feed.wake()  # send it now, not when the live thread's poll times out
        return command.id

    def delete_training(self, training_id: str) -> None:
        check_training_id(training_id)
        self._control_key()
        self._store_side.jobs.put(lambda store: store.delete_training(self.model_id, training_id))

    def delete_model(self) -> None:
        self._control_key()
        self._store_side.jobs.put(lambda store: store.delete_model(self.model_id))

    def rename_model(self, name: str) -> None:
        """Rename the model; raises `ConfigError` for an empty or over-long name."""
        name = check_name(name)
        self._control_key()
        self._store_side.jobs.put(lambda store: store.rename_model(self.model_id, name))

    def _control_key(self) -> str:
        if self.model_key is None:
            raise ConfigError(
                "this is a read-only share: stopping, renaming and deleting need the model key"
            )
        return self.model_key

    def close(self) -> None:
        self._closing.set()
        self._store_side.stop()
        for thread in self._threads:
            if thread is not threading.current_thread() and thread.ident is not None:
                thread.join(timeout=WATCHER_CLOSE_JOIN_S)

    # -- state ------------------------------------------------------------------------------

    def _update(
        self,
        change: Callable[[st.MonitorState], st.MonitorState],
        quiet: Callable[[st.MonitorState, st.MonitorState], bool] | None = None,
    ) -> None:
        """Apply `change`; listeners hear of it as soon as the rate limit allows, unless
        `quiet(before, after)` says it can wait for the next call (at most a second)."""
        with self._changed:
            before = self._state
            self._state = change(before)
            self._version += 1
            if quiet is None or not quiet(before, self._state):
                self._news_version = self._version
            self._changed.notify_all()

    # -- threads ----------------------------------------------------------------------------

    def _live_loop(self) -> None:
        live: Reconnecting[BrokerLine] = Reconnecting(
            self._open_line,
            name="broker",
            cap=LIVE_RECONNECT_CAP_S,
            on_failure=self._on_live_failure,
        )
        limit = ListenerRate(self.max_rate, now=time.monotonic())
        notified_version, notified_at = -1, 0.0
        while not self._closing.is_set():
            line = live.get()
            self._feed = line.feed if line is not None else None
            # A change waiting for the rate limit is passed on the moment the limit allows, not
            # when a full poll ends: waiting out whole polls let each call drift up to an
            # interval behind the updates (docs/benchmarks.md, History: before and after).
            wait = VIEWER_POLL_S
            if self._news_version > notified_version:
                wait = min(wait, limit.wait(time.monotonic()))
            try:
                if line is not None:
                    self._receive(line.feed, wait)
                    self._send_commands(line.broker)
                    self._say_hello(line.broker)
                    live.succeeded()
                else:
                    time.sleep(VIEWER_POLL_S)
            except BackendError as exc:
                self._feed = None
                live.failed(exc)
            now = time.monotonic()
            # Statuses age (running → lost) without any message, so redraw every second too;
            # quiet changes go out then, or with the next news.
            due = self._news_version > notified_version or now - notified_at >= 1.0
            if due and limit.take(now):
                notified_version, notified_at = self._version, now
                self._notify()
        self._feed = None
        live.close()

    def _open_line(self) -> BrokerLine:
        line = BrokerLine(
            open_broker(self.settings.broker_url),
            lambda broker: broker.subscribe_updates(self.model_id),
        )
        self._greeter.connected()
        self._first_connect.set()
        self._update(lambda s: st.with_connection(s, status="live", detail=""))
        return line

    def _on_live_failure(self, exc: DltrackError, delay: float) -> None:
        if not self._first_connect.is_set():
            self._first_error = exc
            self._first_connect.set()
        detail = str(exc)
        self._update(lambda s: st.with_connection(s, status="reconnecting", detail=detail))

    def _receive(self, feed: Feed, timeout: float) -> None:
        for raw in feed.poll(timeout):
            message = parse_update(raw)
            if message is None:
                log.debug("ignored a malformed update")
                continue
            self._greeter.heard(message["training_id"], message["type"])
            # Most heartbeats only say the training is alive: left to the next call, they do
            # not use up the rate limit that progress needs (at 10 progress messages/s plus a
            # heartbeat, every call would otherwise wait for the limit).
            quiet = (
                partial(st.only_liveness_changed, training_id=message["training_id"])
                if message["type"] == HEARTBEAT
                else None
            )
            try:
                self._update(
                    partial(st.apply_update, message=message, now=time.time()), quiet=quiet
                )
            except Exception:  # one update the reducer cannot take must not end the live view
                log.exception("dltrack: dropped an update this viewer could not apply")
                continue
            if message["type"] in ("train_begin", "train_end"):
                self._store_side.changed()  # look soon: numbers, final records

    def _send_commands(self, broker: Broker | None) -> None:
        while broker is not None:
            try:
                command = self._outbox.get_nowait()
            except queue.Empty:
                return
            delivered = broker.send_command(command)
            self._update(partial(st.command_sent, command_id=command.id, delivered=delivered))

    def _say_hello(self, broker: Broker | None) -> None:
        """Tell the trainings someone watches (viewing/presence.py); no answer is awaited."""
        if broker is None:
            return
        for target in self._greeter.due(time.monotonic()):
            broker.announce(Command.hello(self._ref, target, self.sender))

    def _notify(self) -> None:
        snap = self.snapshot()
        for listener in list(self._listeners):
            try:
                listener(snap)
            except Exception:  # one broken view must not stop the others
                log.exception("a dltrack listener failed")
