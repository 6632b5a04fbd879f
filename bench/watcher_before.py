"""The Watcher as it was before two fixes, swapped in by bench/pacing.py and bench/stop_time.py
so that each fix is measured before and after in the same run.

1. Listener pacing: the live thread passed a change on only after a whole feed poll (50 ms)
   had ended, and only once 100 ms had passed since the previous call (whatever caused that
   one), so at ~10 updates/s each call drifted up to an interval behind the update it carried.
   Now: a token bucket (`watcher.ListenerRate`, 12/s: a little above what one training
   sends), checked whenever a change waits; heartbeats that only say "alive" do not use it up.
2. Stop: `stop_training` queued the command for the live thread, which sent it once its
   current feed poll timed out (up to 50 ms); there was no `Feed.wake`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

FORMER_RATE = 10.0  # listener calls per second, as a strict gap (now a 12/s token bucket)


def _former_live_loop(self: Any) -> None:
    """Watcher._live_loop before fix 1 (its logic; `_receive` is today's, which polls for as
    long as it is told)."""
    from dltrack.backends.backoff import LIVE_RECONNECT_CAP_S, Backoff
    from dltrack.viewing import state as st
    from dltrack.viewing.watcher import POLL_S
    from dltrack.wire.errors import BackendError

    broker = feed = None
    backoff = Backoff(cap=LIVE_RECONNECT_CAP_S)
    notified_version, notified_at = -1, 0.0
    while not self._closing.is_set():
        if broker is None and backoff.ready():
            broker, feed = self._connect(backoff)
        try:
            if feed is not None:
                self._receive(feed, POLL_S)
                self._send_commands(broker)
            else:
                time.sleep(POLL_S)
        except BackendError as exc:
            self._close_quietly(feed, broker)
            broker, feed = None, None
            backoff.failed()
            self._update(partial(st.with_connection, status="reconnecting", detail=str(exc)))
        now = time.monotonic()
        due = self._version != notified_version or now - notified_at >= 1.0
        if due and now - notified_at >= 1.0 / FORMER_RATE:
            notified_version, notified_at = self._version, now
            self._notify()
    self._close_quietly(feed, broker)


@contextlib.contextmanager
def former_listener_pacing() -> Iterator[None]:
    """Watchers started inside the block run the former live loop (for their whole life)."""
    from dltrack.viewing.watcher import Watcher

    current = Watcher._live_loop
    Watcher._live_loop = _former_live_loop  # type: ignore[method-assign]
    try:
        yield
    finally:
        Watcher._live_loop = current  # type: ignore[method-assign]


def former_stop_training(watcher: Any, training_id: str) -> str:
    """Watcher.stop_training before fix 2: queued, with no wake for the live thread."""
    from dltrack.viewing import state as st
    from dltrack.wire.protocol import STOP, Command

    command = Command.new(STOP, watcher.model_key, training_id, watcher.sender)
    watcher._update(lambda s: st.command_queued(s, command, time.time()))
    watcher._outbox.put(command)
    return command.id
