"""How dltrack's intervals relate (wire/timing.py). Each relation is a promise one end of the
wire makes to the other; a change of one number that breaks it fails here."""

from __future__ import annotations

from dltrack.wire import timing as t


def test_a_viewer_calls_a_training_lost_only_after_several_missed_heartbeats() -> None:
    assert t.LOST_AFTER_S >= 3 * t.HEARTBEAT_INTERVAL_S


def test_a_training_reconnects_before_its_viewers_give_up_on_it() -> None:
    # The longest retry wait before jitter (±20%, so some waits reach LOST_AFTER_S: a viewer
    # may then show `lost` for a moment before the training is back).
    assert t.LIVE_RECONNECT_CAP_S < t.LOST_AFTER_S


def test_lost_comes_long_before_interrupted() -> None:
    assert t.LOST_AFTER_S < t.STORE_FRESH_S < t.INTERRUPTED_AFTER_S


def test_store_liveness_outlasts_several_last_seen_writes() -> None:
    assert t.STORE_FRESH_S >= 2 * t.LAST_SEEN_INTERVAL_S
    # Four missed last_seen writes in a row before a row is taken for a dead process's.
    assert t.INTERRUPTED_AFTER_S >= 5 * t.LAST_SEEN_INTERVAL_S


def test_a_dead_local_listener_is_undelivered_before_viewers_show_it_lost() -> None:
    # A stop sent to a training viewers already show `lost` is reported undelivered, never
    # taken for delivered to a SIGKILLed process's leftover row.
    assert t.LOCAL_LISTENER_REFRESH_S * 2 < t.LOCAL_LISTENER_FRESH_S < t.LOST_AFTER_S


def test_progress_pacing_fits_the_listener_rate() -> None:
    # Viewers pass on a little more than a training sends, so updates never queue.
    assert 1 / t.PROGRESS_INTERVAL_S < t.LISTENER_RATE
    assert 0 < t.PROGRESS_SLACK_S < t.PROGRESS_INTERVAL_S


def test_commands_are_waited_for_well_within_a_progress_interval() -> None:
    # The training's broker thread blocks in its command feed (woken by arrivals); only the
    # embedded broker, across processes, polls.
    assert t.LOCAL_COMMAND_POLL_INTERVAL_S <= t.PROGRESS_INTERVAL_S
    assert t.VIEWER_POLL_S < t.PROGRESS_INTERVAL_S


def test_presence_outlives_a_lost_hello_and_quiet_beats_fit_a_free_plan() -> None:
    assert t.PRESENCE_TTL_S > 2 * t.HELLO_EVERY_S
    assert t.QUIET_HEARTBEAT_S >= 30
    # A snapshot for a newcomer goes out well within the second the issue allows.
    assert t.SNAPSHOT_MIN_GAP_S < 1


def test_a_final_error_is_retried_slower_than_any_live_reconnect() -> None:
    assert t.FINAL_RETRY_S > t.STORE_RECONNECT_CAP_S > t.LIVE_RECONNECT_CAP_S > t.FIRST_RETRY_S


def test_a_firestore_call_and_its_retries_end_before_a_training_counts_as_gone() -> None:
    assert t.FIRESTORE_CALL_TIMEOUT_S <= t.FIRESTORE_RETRY_DEADLINE_S < t.STORE_FRESH_S
