"""One behaviour for every Store: the embedded SQLite one and Firestore (the real emulator)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dltrack.backends import open_store
from dltrack.backends.store import Store
from dltrack.wire.errors import UnknownModelError
from dltrack.wire.keys import model_id, new_model_key, new_training_id
from dltrack.wire.records import EpochRecord, TrainingRecord

OpenStore = Callable[[], Store]


@pytest.fixture(params=["local", pytest.param("firestore", marks=pytest.mark.firestore)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "local":
        return f"sqlite://{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("firestore_url"))


@pytest.fixture
def new_store(store_url: str) -> Iterator[OpenStore]:
    """Opens stores on the same database (as separate processes would); closes them all."""
    opened: list[Store] = []

    def make() -> Store:
        store = open_store(store_url)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(new_store: OpenStore) -> Store:
    return new_store()


def test_models_create_get_list_rename_delete(store: Store) -> None:
    first = store.create_model("first")
    second = store.create_model("second")
    assert first.key and second.key and first.key != second.key
    assert first.id == model_id(first.key) and first.id != first.key
    assert store.get_model(first.key) == first
    # By id too (what a read-only viewer holds): the same record, the key only if kept.
    assert store.get_model(first.id).name == "first"  # type: ignore[union-attr]
    assert [(m.id, m.name) for m in store.list_models()] == [
        (first.id, "first"),
        (second.id, "second"),
    ]
    assert store.rename_model(first.key, "renamed")
    assert store.get_model(first.key).name == "renamed"  # type: ignore[union-attr]
    assert store.delete_model(second.key)
    assert store.get_model(second.key) is None
    assert [m.id for m in store.list_models()] == [first.id]


def test_the_public_record_never_holds_the_key(store: Store) -> None:
    model = store.create_model("m")
    assert model.key is not None
    assert model.key not in repr(model.to_json())
    assert [model.key not in repr(m.to_json()) for m in store.list_models()] == [True]


def test_missing_models(store: Store) -> None:
    missing = new_model_key()
    assert store.get_model(missing) is None
    assert not store.rename_model(missing, "x")
    assert not store.delete_model(missing)
    assert store.list_trainings(missing) == []
    with pytest.raises(UnknownModelError):
        store.start_training(missing, new_training_id(), {}, 1.0)
    assert store.get_model(missing) is None
    assert store.list_models() == []


def test_a_new_training_is_running(store: Store) -> None:
    model = store.create_model("m")
    training = new_training_id()
    params = {"epochs": 3, "optimizer": "Adam", "learning_rate": 0.001, "note": None}
    assert store.start_training(model.key, training, params, 1700000000.5) == 1
    assert store.get_training(model.key, training) == TrainingRecord(
        model_id=model.id,
        training_id=training,
        number=1,
        status="running",
        params=params,
        started_at=1700000000.5,
        ended_at=None,
        last_seen=1700000000.5,
        epochs_done=0,
        final_logs={},
        stop=None,
        reason=None,
    )
    assert store.get_model(model.key).train_count == 1  # type: ignore[union-attr]
    assert store.get_training(model.key, new_training_id()) is None


def test_start_training_is_idempotent(store: Store) -> None:
    model = store.create_model("m")
    training = new_training_id()
    assert store.start_training(model.key, training, {}, 1.0) == 1
    assert store.start_training(model.key, training, {}, 2.0) == 1
    assert store.start_training(model.key, new_training_id(), {}, 3.0) == 2
    assert [t.number for t in store.list_trainings(model.key)] == [1, 2]
    assert store.get_model(model.key).train_count == 2  # type: ignore[union-attr]


def test_numbers_are_unique_under_concurrency(store_url: str, new_store: OpenStore) -> None:
    model = new_store().create_model("m")
    numbers: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def start_some() -> None:
        try:
            # Each thread its own connection, like separate processes; a connection stays in
            # the thread that opened it.
            store = open_store(store_url)
            try:
                barrier.wait()
                for _ in range(5):
                    numbers.append(store.start_training(model.key, new_training_id(), {}, 1.0))
            finally:
                store.close()
        except BaseException as exc:  # noqa: BLE001 - reported below, on the test thread
            errors.append(exc)

    threads = [threading.Thread(target=start_some) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(numbers) == list(range(1, 31))
    check = new_store()
    assert [t.number for t in check.list_trainings(model.key)] == list(range(1, 31))
    assert check.get_model(model.key).train_count == 30  # type: ignore[union-attr]


def test_update_training_fields_round_trip(store: Store) -> None:
    model = store.create_model("m")
    training = new_training_id()
    store.start_training(model.key, training, {"a": 1}, 10.0)
    stop = {
        "sender": "alice@laptop",
        "requested_at": 12.5,
        "kind": "stop",
        "command_id": "0123456789abcdef",
        "epoch": 2,
        "step": 17,
    }
    store.update_training(model.key, training, last_seen=11.0, epochs_done=2)
    store.update_training(
        model.key,
        training,
        status="stopped",
        ended_at=13.0,
        final_logs={"loss": 0.25, "val_accuracy": 0.9},
        stop=stop,
        reason="stopped by alice@laptop",
        params={"a": 2, "b": "x"},
    )
    record = store.get_training(model.key, training)
    assert record is not None
    assert (record.status, record.ended_at, record.last_seen, record.epochs_done) == (
        "stopped",
        13.0,
        11.0,
        2,
    )
    assert record.final_logs == {"loss": 0.25, "val_accuracy": 0.9}
    assert record.stop == stop
    assert record.reason == "stopped by alice@laptop"
    assert record.params == {"a": 2, "b": "x"}
    assert (record.number, record.started_at) == (1, 10.0)
    store.update_training(model.key, training, stop=None, reason=None)
    record = store.get_training(model.key, training)
    assert record is not None and record.stop is None and record.reason is None


def test_update_training_rejects_other_fields_and_ignores_missing(store: Store) -> None:
    model = store.create_model("m")
    training = new_training_id()
    store.start_training(model.key, training, {}, 1.0)
    with pytest.raises(ValueError):
        store.update_training(model.key, training, number=7)
    missing = new_training_id()
    store.update_training(model.key, missing, status="failed")
    assert store.get_training(model.key, missing) is None
    assert store.get_training(model.key, training).number == 1  # type: ignore[union-attr]


def test_write_epoch_replaces_and_lists_in_order(store: Store) -> None:
    model = store.create_model("m")
    training = new_training_id()
    store.start_training(model.key, training, {}, 1.0)
    for epoch in (2, 0, 1):
        store.write_epoch(model.key, training, EpochRecord(epoch, {"loss": 9.0}))
    final = EpochRecord(0, {"loss": 0.5, "accuracy": 0.75}, steps=32, started_at=1.0, ended_at=2.5)
    store.write_epoch(model.key, training, final)
    store.write_epoch(model.key, training, final)
    epochs = store.list_epochs(model.key, training)
    assert [e.epoch for e in epochs] == [0, 1, 2]
    assert epochs[0] == final
    assert epochs[1] == EpochRecord(1, {"loss": 9.0})


def test_delete_training_removes_its_epochs(store: Store) -> None:
    model = store.create_model("m")
    kept, deleted = new_training_id(), new_training_id()
    for training in (kept, deleted):
        store.start_training(model.key, training, {}, 1.0)
        for epoch in range(3):
            store.write_epoch(model.key, training, EpochRecord(epoch, {"loss": 1.0}))
    assert store.delete_training(model.key, deleted)
    assert not store.delete_training(model.key, deleted)
    assert store.get_training(model.key, deleted) is None
    assert store.list_epochs(model.key, deleted) == []
    assert [t.training_id for t in store.list_trainings(model.key)] == [kept]
    assert len(store.list_epochs(model.key, kept)) == 3


def test_delete_model_cascades(store: Store) -> None:
    model = store.create_model("m")
    other = store.create_model("other")
    trainings = [new_training_id() for _ in range(3)]
    for training in trainings:
        store.start_training(model.key, training, {}, 1.0)
        store.write_epoch(model.key, training, EpochRecord(0, {"loss": 1.0}))
    store.start_training(other.key, trainings[0], {}, 1.0)  # same id, other model
    assert store.delete_model(model.key)
    assert store.get_model(model.key) is None
    assert store.list_trainings(model.key) == []
    for training in trainings:
        assert store.get_training(model.key, training) is None
        assert store.list_epochs(model.key, training) == []
    with pytest.raises(UnknownModelError):
        store.start_training(model.key, new_training_id(), {}, 1.0)
    assert [t.number for t in store.list_trainings(other.key)] == [1]


def _event(kind: str, at: float, **values: object) -> dict[str, object]:
    return {
        "id": new_training_id(),
        "kind": kind,
        "at": at,
        "ok": True,
        "detail": f"{kind} detail",
        "sender": "ana@laptop (test)",
        "command_id": None,
        "epoch": 1,
        "step": 7,
        "values": dict(values),
    }


def test_events_round_trip_in_time_order_and_replace_by_id(store: Store) -> None:
    model = store.create_model("m")
    training = new_training_id()
    store.start_training(model.key, training, {}, 1.0)
    late, early = _event("pause", 20.0), _event("set_lr", 10.0, old=0.01, new=0.001)
    store.add_event(model.key, training, late)
    store.add_event(model.key, training, early)
    store.add_event(model.key, training, early)  # a replayed spool row: no duplicate
    assert store.list_events(model.key, training) == [early, late]
    assert store.list_events(model.key, new_training_id()) == []


def test_deleting_a_training_or_model_deletes_its_events(store: Store) -> None:
    model = store.create_model("m")
    kept, deleted = new_training_id(), new_training_id()
    for training in (kept, deleted):
        store.start_training(model.key, training, {}, 1.0)
        store.add_event(model.key, training, _event("checkpoint", 5.0, path="/tmp/x.keras"))
    store.delete_training(model.key, deleted)
    assert store.list_events(model.key, deleted) == []
    assert len(store.list_events(model.key, kept)) == 1
    store.delete_model(model.key)
    assert store.list_events(model.key, kept) == []
