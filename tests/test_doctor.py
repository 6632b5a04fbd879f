"""`doctor.run_checks` against the real servers, and against broken settings."""

from __future__ import annotations

import secrets
import socket
from pathlib import Path

import pytest

from dltrack.backends import open_store
from dltrack.cli.doctor import Check, run_checks
from dltrack.wire import config

SECRET = "pw-" + secrets.token_hex(4)


def settings(
    tmp_path: Path, broker: str | None = None, store: str | None = None
) -> config.Settings:
    local = f"sqlite://{tmp_path / 'dltrack.db'}"
    return config.Settings(broker_url=broker or local, store_url=store or local, home=tmp_path)


def by_name(checks: list[Check]) -> dict[str, Check]:
    assert [c.name for c in checks] == ["broker", "store"]
    for check in checks:
        assert check.detail and "\n" not in check.detail and SECRET not in check.detail
    return {c.name: c for c in checks}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_local_default_passes_and_leaves_nothing(tmp_path: Path) -> None:
    checks = by_name(run_checks(settings(tmp_path)))
    assert checks["broker"].ok, checks["broker"].detail
    assert checks["store"].ok, checks["store"].detail
    store = open_store(f"sqlite://{tmp_path / 'dltrack.db'}")
    assert store.list_models() == []
    store.close()


@pytest.mark.amqp
@pytest.mark.firestore
def test_real_servers_pass(tmp_path: Path, amqp_url: str, firestore_url: str) -> None:
    checks = by_name(run_checks(settings(tmp_path, amqp_url, firestore_url)))
    assert checks["broker"].ok, checks["broker"].detail
    assert checks["store"].ok, checks["store"].detail
    assert ":***@" in checks["broker"].detail and ":guest@" not in checks["broker"].detail
    assert "firebase deploy --only firestore:rules" in checks["store"].detail
    store = open_store(firestore_url)
    assert store.list_models() == []
    store.close()


@pytest.mark.amqp
def test_wrong_broker_password(tmp_path: Path, amqp_url: str) -> None:
    bad = amqp_url.replace("guest:guest@", f"guest:{SECRET}@")
    checks = by_name(run_checks(settings(tmp_path, bad)))
    assert not checks["broker"].ok
    assert "check the password" in checks["broker"].detail
    assert checks["store"].ok  # one bad setting does not hide the other's result


def test_unreachable_broker(tmp_path: Path) -> None:
    url = f"amqp://guest:{SECRET}@127.0.0.1:{closed_port()}/%2F"
    checks = by_name(run_checks(settings(tmp_path, url)))
    assert not checks["broker"].ok
    assert "connection refused" in checks["broker"].detail


def test_firestore_without_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FIRESTORE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DLTRACK_FIRESTORE_CREDENTIALS", '{"type": "service_account", ' + SECRET)
    checks = by_name(run_checks(settings(tmp_path, store="firestore://some-project")))
    assert checks["broker"].ok
    assert not checks["store"].ok
    assert "malformed JSON" in checks["store"].detail


@pytest.mark.slow
def test_unreachable_firestore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{closed_port()}")
    checks = by_name(run_checks(settings(tmp_path, store="firestore://test-unreachable")))
    assert not checks["store"].ok
    assert "cannot be reached" in checks["store"].detail
