"""The usage `dltrack doctor` announces (cli/usage.py), against the issue's budgets."""

from __future__ import annotations

from dltrack.cli.usage import amqp_per_hour, describe, store_writes_per_hour

AMQP = "amqps://user:pw@host/vhost"
FIRESTORE = "firestore://project"


def test_only_billed_backends_are_described() -> None:
    assert describe("sqlite:///x.db", "sqlite:///x.db") == []
    broker, store = describe(AMQP, FIRESTORE)
    assert broker.startswith("broker:") and store.startswith("store:")
    assert "pw" not in broker


def test_an_unwatched_training_sends_at_most_a_message_per_30_s_between_epochs() -> None:
    # With hour-long epochs: one epoch_end and the quiet heartbeats.
    assert amqp_per_hour(3600, watched=False) - 1 <= 3600 / 30
    # Watched, it sends the live rate: ~10 progress messages and a heartbeat a second.
    assert amqp_per_hour(3600, watched=True) > 10 * 3600


def test_writes_are_two_per_epoch_plus_one_a_minute_at_most() -> None:
    for epoch_s in (5, 30, 60, 300, 3600):
        epochs = 3600 / epoch_s
        assert store_writes_per_hour(epoch_s) <= 2 * epochs + 60
