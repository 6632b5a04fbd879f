"""`%dltrack KEY --follow`: keep the cell running and send the monitor's updates from the main
thread, for front ends that ignore updates sent from other threads (Colab).

Colab draws a widget's comm messages only while the cell that made it runs, and only those
sent from the kernel's main thread (googlecolab/colabtools#3373); the Watcher's updates come
from its own threads. So the cell follows: every `POLL_S` it sends what the Watcher's threads
held back, until no training is live any more (after one was) or the user interrupts; the
widget then stays, showing the last state.
"""

from __future__ import annotations

import sys
import time
from typing import Any

POLL_S = 0.1
LIVE = ("running", "lost")


def in_colab() -> bool:
    return "google.colab" in sys.modules


def enable_colab_widgets() -> None:
    """Colab shows third-party widgets (anywidget's) only with its custom widget manager."""
    from google.colab import output

    output.enable_custom_widget_manager()


def _live(snapshot: dict[str, Any]) -> bool:
    return any(t["status"] in LIVE for t in snapshot["trainings"])


def follow(monitor: Any, poll_s: float = POLL_S) -> None:
    """Send `monitor`'s updates from this (the main) thread until its trainings have ended
    or Ctrl+C / the interrupt button; never raises KeyboardInterrupt."""
    seen_live = False
    try:
        while True:
            monitor.flush()
            live = _live(monitor.watcher.snapshot())
            if seen_live and not live:
                break
            seen_live = seen_live or live
            time.sleep(poll_s)
    except KeyboardInterrupt:
        pass
    # The last word: whatever the Watcher knows now, sent from here.
    monitor._show(monitor.watcher.snapshot())
    monitor.flush()
