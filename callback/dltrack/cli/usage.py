"""What dltrack is expected to use of hosted plans, from its own pacing (wire/timing.py).

The model docs/cost.md measures (bench/cost.py): per training-hour, per viewer-hour, for a
given epoch length. `dltrack doctor` prints it for the configured backends; only remote ones
are billed, so only those are shown.
"""

from __future__ import annotations

from dltrack.wire import timing as t

HOUR_S = 3600.0
# What the doctor assumes when it cannot know the user's epochs.
TYPICAL_EPOCH_S = 300.0


def amqp_per_hour(epoch_s: float, watched: bool) -> int:
    """Messages one training publishes in an hour (each is delivered once per viewer)."""
    epochs = HOUR_S / epoch_s
    if not watched:
        return round(HOUR_S / t.QUIET_HEARTBEAT_S + epochs)
    live = HOUR_S / t.PROGRESS_INTERVAL_S + HOUR_S / t.HEARTBEAT_INTERVAL_S
    return round(live + 2 * epochs)  # epoch_begin and epoch_end


def store_writes_per_hour(epoch_s: float) -> int:
    """Documents a training writes in an hour: each epoch and the training's row; `last_seen`
    on its own only in minutes without an epoch end."""
    epochs = HOUR_S / epoch_s
    touches = max(0.0, HOUR_S / t.LAST_SEEN_INTERVAL_S - epochs)
    return round(2 * epochs + touches)


def store_reads_per_viewer_hour(epoch_s: float, running: bool) -> int:
    """Documents a Firestore viewer's listeners deliver in an hour (each write it sees)."""
    return store_writes_per_hour(epoch_s) if running else 0


def describe(broker_url: str, store_url: str, epoch_s: float = TYPICAL_EPOCH_S) -> list[str]:
    """Lines for the doctor: what one training and one viewer cost on the remote backends."""
    lines = []
    minutes = f"{epoch_s / 60:g}-minute epochs"
    if broker_url.startswith("amqp"):
        quiet, live = amqp_per_hour(epoch_s, False), amqp_per_hour(epoch_s, True)
        hellos = round(HOUR_S / t.HELLO_EVERY_S)
        lines.append(
            f"broker: a training publishes ~{quiet} messages/hour unwatched, ~{live} watched "
            f"(each delivered to every viewer); a viewer publishes {hellos} ({minutes})"
        )
    if store_url.startswith("firestore"):
        writes = store_writes_per_hour(epoch_s)
        reads = store_reads_per_viewer_hour(epoch_s, True)
        lines.append(
            f"store: a training writes ~{writes} documents/hour; a viewer reads ~{reads}/hour "
            f"while it runs, 0 once it ended, plus its history once on opening ({minutes}; "
            "Firestore's free quota: 50,000 reads and 20,000 writes a day)"
        )
    return lines
