"""The reconnect back-off: capped, jittered, and slow only for errors that look final twice."""

from __future__ import annotations

import pytest

from dltrack.backends.reconnect import Backoff
from dltrack.wire.timing import FINAL_AFTER_FAILURES, FINAL_RETRY_S


def test_transient_failures_double_up_to_the_cap() -> None:
    backoff = Backoff(first=0.5, cap=5.0)
    delays = [backoff.failed() for _ in range(8)]
    bases = [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0]
    for delay, base in zip(delays, bases, strict=True):
        assert base * 0.8 <= delay <= base * 1.2


def test_one_final_looking_error_is_retried_at_the_usual_pace() -> None:
    # A broker starting or stopping can close a handshake, which pika reports as refused
    # credentials: one such error must not silence the line for a minute.
    backoff = Backoff(first=0.5, cap=5.0)
    assert backoff.failed(final=True) <= 0.5 * 1.2


def test_final_errors_in_a_row_are_retried_slowly() -> None:
    backoff = Backoff(first=0.5, cap=5.0)
    for _ in range(FINAL_AFTER_FAILURES - 1):
        backoff.failed(final=True)
    assert backoff.failed(final=True) >= FINAL_RETRY_S * 0.8
    assert backoff.failed(final=True) >= FINAL_RETRY_S * 0.8


@pytest.mark.parametrize("reset", ["transient", "success"])
def test_a_transient_error_or_a_success_resets_the_count(reset: str) -> None:
    backoff = Backoff(first=0.5, cap=5.0)
    backoff.failed(final=True)
    if reset == "transient":
        backoff.failed()
    else:
        backoff.succeeded()
    assert backoff.failed(final=True) < FINAL_RETRY_S * 0.8
