"""Fixtures of the reliability suite: private servers brought back to a known state per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.support import DurableFirestore, ensure_rabbitmq_up
from tests.servers import PrivateFirestore, PrivateRabbitMQ


@pytest.fixture
def rabbit(private_rabbitmq: PrivateRabbitMQ) -> PrivateRabbitMQ:
    """The private RabbitMQ node, up (a test that failed while it was down may have left it)."""
    ensure_rabbitmq_up(private_rabbitmq)
    return private_rabbitmq


@pytest.fixture(scope="session")
def _durable_firestore(private_firestore: PrivateFirestore) -> Iterator[DurableFirestore]:
    durable = DurableFirestore(private_firestore)
    yield durable
    durable.gate.close()


@pytest.fixture
def durable_firestore(
    _durable_firestore: DurableFirestore, monkeypatch: pytest.MonkeyPatch
) -> DurableFirestore:
    """The private emulator behind an open gate; FIRESTORE_EMULATOR_HOST points at the gate,
    so this process and its children reach the emulator only through it."""
    if _durable_firestore.gate._listener is None:
        _durable_firestore.gate.open()
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", _durable_firestore.address)
    return _durable_firestore
