"""The remote set-up end to end, on real servers: RabbitMQ with per-model users, the Firestore
emulator enforcing firestore.rules, the Firebase Auth emulator. The training box (a child
process) holds `DLTRACK_TRAINING_TOKEN` and nothing else; the owner watches and stops it."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from dltrack import Watcher
from dltrack.backends import open_store
from dltrack.wire.training_token import ENV, TrainingToken
from tests.helpers import ROOT, child_env, run_cli

# The Auth emulator compiles its API spec as it starts: minutes on a loaded machine.
pytestmark = [pytest.mark.slow, pytest.mark.amqp, pytest.mark.firestore, pytest.mark.timeout(1200)]

PROJECT = "demo-dltrack"  # the Auth emulator's project


def test_train_with_only_the_token_watch_and_stop_from_the_owner(
    rabbitmq_admin: dict[str, Any],
    firestore_with_rules: str,
    auth_emulator: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The emulators stand in for Google's services, on both sides.
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore_with_rules)
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", auth_emulator)
    store_url = f"firestore://{PROJECT}"
    owner = ["--broker", rabbitmq_admin["url"], "--store", store_url]
    created = run_cli("models", "create", "remote", *owner)
    assert created.returncode == 0, created.stderr
    key = created.stdout.splitlines()[-1]
    granted = run_cli(
        "grant", key, *owner, "--management", rabbitmq_admin["management"], "--api-key", "k"
    )
    assert granted.returncode == 0, granted.stderr
    token_text = granted.stdout.splitlines()[-1]
    token = TrainingToken.decode(token_text)
    assert token.broker_url != rabbitmq_admin["url"] and token.firebase is not None

    # The training box: the token, and no broker URL, store URL or service account.
    env = child_env(**{ENV: token_text})
    for name in ("DLTRACK_BROKER_URL", "DLTRACK_STORE_URL", "DLTRACK_FIRESTORE_CREDENTIALS"):
        env.pop(name, None)
    child = subprocess.Popen(
        # A store reached through the Auth emulator's tokens can be slow on a loaded machine:
        # the records get time to arrive, so a warning here can only be a refusal.
        [
            *(sys.executable, "-m", "dltrack.training.demo_model", key),
            *("--epochs", "20", "--shutdown-timeout", "60"),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with Watcher(key, broker=rabbitmq_admin["url"], store=store_url, sender="owner") as w:
            live = w.wait_for(
                lambda s: (
                    bool(s["trainings"])
                    and s["trainings"][0]["number"] == 1  # numbered in Firestore, by the token
                    and s["trainings"][0]["epochs_done"] >= 1  # epochs written, by the token
                    and s["trainings"][0]["current"] is not None
                ),  # live, through its broker user
                240,
            )
            assert live is not None, w.snapshot()
            w.stop_training()
            acked = w.wait_for(
                lambda s: any(c["state"] in ("acknowledged", "done") for c in s["commands"]), 60
            )
            assert acked is not None, w.snapshot()["commands"]
        output, _ = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, output
    assert "dltrack:" not in output  # not one warning: every server took the narrow token
    store = open_store(store_url)  # the owner's admin view
    try:
        (training,) = store.list_trainings(key)
        assert training.stop is not None
        assert (training.status, training.stop["sender"]) == ("stopped", "owner")
        assert len(store.list_epochs(key, training.training_id)) >= 1
    finally:
        store.close()
    assert os.environ.get(ENV) is None  # the owner's side never needed it
