"""The shipped firestore.rules, enforced by a real Firestore emulator started with `--rules`.

A granted training calls as a Firebase user whose ID token carries `mid` (its model id). The
emulator accepts unsigned ID tokens for rules evaluation, so the tests mint them here; the
owner's admin client ("Bearer owner") bypasses the rules, as a service account does.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from google.oauth2.credentials import Credentials

from dltrack.backends import open_store
from dltrack.backends.firestore_store import FirestoreStore
from dltrack.wire.errors import DltrackError
from dltrack.wire.keys import new_training_id
from dltrack.wire.records import EpochRecord, ModelRecord

pytestmark = pytest.mark.firestore


def _b64(value: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def unsigned_id_token(project: str, **claims: object) -> str:
    """An ID token as the Auth emulator mints them (alg none), with custom `claims`."""
    now = int(time.time())
    uid = f"dltrack-test-{secrets.token_hex(4)}"
    payload = {
        "iss": f"https://securetoken.google.com/{project}",
        "aud": project,
        "iat": now,
        "exp": now + 3600,
        "auth_time": now,
        "sub": uid,
        "user_id": uid,
        "firebase": {"sign_in_provider": "custom", "identities": {}},
        **claims,
    }
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(payload)}."


@pytest.fixture
def project(firestore_with_rules: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore_with_rules)
    return f"test-{secrets.token_hex(6)}"


@pytest.fixture
def owner(project: str) -> Iterator[FirestoreStore]:
    store = open_store(f"firestore://{project}")
    assert isinstance(store, FirestoreStore)
    yield store
    store.close()


def as_user(project: str, **claims: object) -> FirestoreStore:
    token = unsigned_id_token(project, **claims)
    return FirestoreStore.as_user(f"firestore://{project}", Credentials(token=token))


def raw(store: FirestoreStore, document: Any, fields: dict[str, object]) -> None:
    """A direct update of `document`, with the store's error translation."""
    with store._calls():
        document.update(fields)


@pytest.fixture
def models(owner: FirestoreStore) -> tuple[ModelRecord, ModelRecord]:
    return owner.create_model("mine"), owner.create_model("theirs")


def test_a_granted_training_writes_its_own_model(
    project: str, owner: FirestoreStore, models: tuple[ModelRecord, ModelRecord]
) -> None:
    mine, _ = models
    training = as_user(project, mid=mine.id)
    tid = new_training_id()
    try:
        # Everything a Tracker does: number the training, write epochs (and again), update.
        assert training.start_training(mine.id, tid, {"epochs": 2}, 1.0) == 1
        assert training.start_training(mine.id, tid, {"epochs": 2}, 1.0) == 1  # idempotent
        training.write_epoch(mine.id, tid, EpochRecord(0, {"loss": 1.0}))
        training.write_epoch(mine.id, tid, EpochRecord(0, {"loss": 0.9}))
        training.update_training(mine.id, tid, status="completed", epochs_done=1)
        assert training.start_training(mine.id, new_training_id(), {}, 2.0) == 2
        assert [t.number for t in training.list_trainings(mine.id)] == [1, 2]
    finally:
        training.close()
    (first, _) = owner.list_trainings(mine.id)
    assert (first.status, first.epochs_done) == ("completed", 1)
    assert [e.logs for e in owner.list_epochs(mine.id, tid)] == [{"loss": 0.9}]


def test_a_granted_training_cannot_touch_another_model_delete_or_rename(
    project: str, owner: FirestoreStore, models: tuple[ModelRecord, ModelRecord]
) -> None:
    mine, theirs = models
    tid = new_training_id()
    owner.start_training(mine.id, tid, {}, 1.0)
    owner.write_epoch(mine.id, tid, EpochRecord(0, {"loss": 1.0}))
    other_tid = new_training_id()
    owner.start_training(theirs.id, other_tid, {}, 1.0)
    training = as_user(project, mid=mine.id)
    refused = [
        lambda: training.start_training(theirs.id, new_training_id(), {}, 1.0),
        lambda: training.write_epoch(theirs.id, other_tid, EpochRecord(0, {"loss": 5.0})),
        lambda: training.update_training(theirs.id, other_tid, status="failed"),
        lambda: training.get_training(theirs.id, other_tid),
        lambda: training.list_trainings(theirs.id),
        lambda: training.list_models(),  # cannot even learn which models exist
        lambda: training.rename_model(mine.id, "renamed"),
        lambda: training.delete_training(mine.id, tid),
        lambda: training.delete_model(mine.id),
        # Renumbering its own training, or moving the count by more than one.
        lambda: raw(training, training.trainings_ref(mine.id).document(tid), {"number": 7}),
        lambda: raw(training, training.model_ref(mine.id), {"train_count": 9}),
    ]
    try:
        for attempt in refused:
            with pytest.raises(DltrackError, match="refused the credentials or this request"):
                attempt()
    finally:
        training.close()
    # Nothing changed, seen by the owner.
    assert [(m.id, m.name, m.train_count) for m in owner.list_models()] == [
        (mine.id, "mine", 1),
        (theirs.id, "theirs", 1),
    ]
    assert [t.training_id for t in owner.list_trainings(mine.id)] == [tid]
    assert [t.number for t in owner.list_trainings(mine.id)] == [1]
    assert [e.logs for e in owner.list_epochs(mine.id, tid)] == [{"loss": 1.0}]
    (other,) = owner.list_trainings(theirs.id)
    assert other.status == "running" and owner.list_epochs(theirs.id, other_tid) == []


@pytest.mark.parametrize("claims", [{}, {"mid": "id_" + "0" * 32}, {"mid": 5}])
def test_a_token_without_this_model_writes_nothing(
    project: str,
    owner: FirestoreStore,
    models: tuple[ModelRecord, ModelRecord],
    claims: dict[str, object],
) -> None:
    mine, _ = models
    stranger = as_user(project, **claims)
    try:
        with pytest.raises(DltrackError):
            stranger.start_training(mine.id, new_training_id(), {}, 1.0)
    finally:
        stranger.close()
    assert owner.list_trainings(mine.id) == []
