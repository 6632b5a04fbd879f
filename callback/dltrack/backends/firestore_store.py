"""The Store on Cloud Firestore (through firebase-admin), for `firestore://PROJECT_ID` URLs.

Documents (docs/protocol.md, "Store"): `models/{model_id}` {name, created_at, train_count} →
`trainings/{training_id}` {number, status, params, started_at, ended_at, last_seen, epochs_done,
final_logs, stop, reason} → `epochs/{epoch:05d}` {epoch, logs, steps, started_at, ended_at, and
non_finite when a metric was NaN or infinite}.
Times are Unix seconds (floats), as in the local store. `params` is stored as JSON text: it
holds user-chosen names, and Firestore refuses some field names (`__x__`) and nested arrays.
A model is filed under its public id (`wire.keys.model_id`), never its key; `migrate_legacy`
moves models that older versions filed under the key itself.

Training numbers come from an optimistic transaction written with public calls only: read the
model, then commit "train_count = n, only if the model is unchanged since that read" together
with "create the training" as one atomic batch; a concurrent writer makes it fail, and it is
tried again. Creating the training document (never overwriting) makes it idempotent.

Every call has a short deadline (`FIRESTORE_CALL_TIMEOUT_S`, retried for at most
`FIRESTORE_RETRY_DEADLINE_S`, both in wire/timing.py), so a dead server costs seconds. Errors:
`ConfigError` (final) for a malformed key or no credentials at all; `BackendError` for
everything the server or the network says (unreachable, project or database missing, credentials
refused). After a `BackendError`, open a new store: its gRPC channel starts without the backoff
the old one accumulated.

Each instance has its own named firebase-admin App, so stores for several projects coexist.
"""

from __future__ import annotations

import json
import random
import secrets
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import urlsplit

from dltrack.backends.follow import Follow, OnChange
from dltrack.backends.store import Store, TrainingWrite
from dltrack.wire.errors import (
    BackendError,
    ConfigError,
    DltrackError,
    MissingDependencyError,
    UnknownModelError,
)
from dltrack.wire.keys import is_model_key, model_id_of, new_model_key
from dltrack.wire.records import (
    TRAINING_UPDATE_FIELDS,
    EpochRecord,
    ModelRecord,
    TrainingRecord,
    as_status,
)

try:
    import firebase_admin
    from firebase_admin import firestore
    from google.api_core import exceptions as api_errors
    from google.api_core import retry as api_retry
    from google.auth import exceptions as auth_errors
except ModuleNotFoundError as exc:  # not installed; any other ImportError is shown as it is
    raise MissingDependencyError(
        "Firestore support needs firebase-admin: pip install 'dltrack[firestore]'"
    ) from exc

from dltrack.backends.firebase_user import UserClient, signed_in
from dltrack.backends.firestore_credentials import firebase_credential, granted_firebase
from dltrack.backends.firestore_errors import server_error
from dltrack.backends.grpc_engine import hold_engine
from dltrack.wire.timing import FIRESTORE_CALL_TIMEOUT_S, FIRESTORE_RETRY_DEADLINE_S

NUMBERING_ATTEMPTS = 30
DELETE_CHUNK = 400  # under Firestore's 500 writes per batch
RETRY = api_retry.Retry(
    initial=0.2,
    maximum=2.0,
    multiplier=2.0,
    timeout=FIRESTORE_RETRY_DEADLINE_S,
    predicate=api_retry.if_exception_type(
        api_errors.ServiceUnavailable,
        api_errors.DeadlineExceeded,
        api_errors.InternalServerError,
        api_errors.ResourceExhausted,
    ),
)
CALL = {"retry": RETRY, "timeout": FIRESTORE_CALL_TIMEOUT_S}
# A numbering batch that lost a race: the model changed since it was read, or the training
# appeared meanwhile.
_CONTENDED = (api_errors.FailedPrecondition, api_errors.AlreadyExists, api_errors.Aborted)


LEGACY = (
    "{} stored under the raw model key by an older dltrack; run `dltrack migrate` once "
    "on the owner's machine (it moves each model under its public id)"
)


def training_from_doc(model_id: str, doc: Any) -> TrainingRecord:
    data = doc.to_dict() or {}
    return TrainingRecord(
        model_id=model_id,
        training_id=doc.id,
        number=int(data.get("number", 0)),
        status=as_status(data.get("status")),
        params=json.loads(data.get("params") or "{}"),
        started_at=float(data.get("started_at") or 0.0),
        ended_at=data.get("ended_at"),
        last_seen=data.get("last_seen"),
        epochs_done=int(data.get("epochs_done") or 0),
        final_logs=dict(data.get("final_logs") or {}),
        stop=data.get("stop"),
        reason=data.get("reason"),
    )


def epoch_from_doc(doc: Any) -> EpochRecord:
    return EpochRecord.from_json(doc.to_dict() or {})


def _update_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """A training update as stored: checked, `params` as JSON text."""
    unknown = set(fields) - TRAINING_UPDATE_FIELDS
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    if "params" in fields:
        fields = {**fields, "params": json.dumps(fields["params"] or {})}
    return fields


def _event(event: dict[str, Any]) -> dict[str, Any]:
    # As JSON text: event values are free-form scalars, kept exactly as written.
    return {"at": event["at"], "body": json.dumps(event)}


class FirestoreStore(Store):
    """A Store in the Firestore database of `firestore://PROJECT_ID`; see the module docstring.

    Args:
        url: `firestore://PROJECT_ID`. Credentials come from the environment
            (`firestore_credentials`); with `FIRESTORE_EMULATOR_HOST` set, the emulator is used.
    """

    def __init__(self, url: str) -> None:
        hold_engine()
        self._project = urlsplit(url).netloc
        self._app: Any = None
        self._db: Any  # firebase-admin's client, or a UserClient: the same Firestore API
        grant = granted_firebase()
        if grant is not None:
            # A training box with only `DLTRACK_TRAINING_TOKEN`: a Firebase user, held to
            # firestore.rules, instead of the admin service account.
            self._db = UserClient(self._project, signed_in(grant))
            return
        credential = firebase_credential()
        self._app = firebase_admin.initialize_app(
            credential,
            {"projectId": self._project},
            name=f"dltrack-{self._project}-{secrets.token_hex(4)}",
        )
        try:
            with self._calls():
                self._db = firestore.client(self._app)
        except BaseException:
            firebase_admin.delete_app(self._app)
            raise

    @classmethod
    def as_user(cls, url: str, credentials: Any) -> FirestoreStore:
        """A store that calls as the Firebase user of `credentials` (an ID token as `token`)."""
        hold_engine()
        store = cls.__new__(cls)
        store._project, store._app = urlsplit(url).netloc, None
        store._db = UserClient(store._project, credentials)
        return store

    @contextmanager
    def _calls(self) -> Iterator[None]:
        try:
            yield
        except (api_errors.GoogleAPIError, auth_errors.GoogleAuthError) as exc:
            server_error(exc, self._project)

    def model_ref(self, model: str) -> Any:
        return self._db.collection("models").document(model_id_of(model))

    def missing(self, model: str) -> DltrackError:
        """The error for a model that is not there: maybe it awaits `dltrack migrate`.

        Looks for documents filed under keys by listing ids, never by asking for this key's
        own path: that would send the key to the server. A narrow training token may not
        list, and then the plain error stands.
        """
        with self._calls(), suppress(api_errors.PermissionDenied):
            if self._legacy_ids():
                return ConfigError(LEGACY.format(f"model {model_id_of(model)} may be"))
        return UnknownModelError(model_id_of(model))

    def _legacy_ids(self) -> list[str]:
        docs = self._db.collection("models").select([]).stream(**CALL)
        return [doc.id for doc in docs if is_model_key(doc.id)]

    def trainings_ref(self, model: str) -> Any:
        return self.model_ref(model).collection("trainings")

    def epochs_ref(self, model: str, training_id: str) -> Any:
        return self.trainings_ref(model).document(training_id).collection("epochs")

    def grpc_channel(self) -> Any:
        """The client's gRPC channel (its connectivity is what listeners depend on)."""
        return self._db._firestore_api.transport.grpc_channel

    def follow(self, model: str, on_change: OnChange) -> Follow:
        from dltrack.backends.firestore_follow import FirestoreFollow

        return FirestoreFollow(self, model, on_change)

    def events_ref(self, model: str, training_id: str) -> Any:
        return self.trainings_ref(model).document(training_id).collection("events")

    # -- models -------------------------------------------------------------------------------

    def create_model(self, name: str) -> ModelRecord:
        record = ModelRecord(key=new_model_key(), name=name, created_at=time.time())
        fields = {"name": name, "created_at": record.created_at, "train_count": 0}
        with self._calls():
            try:
                self.model_ref(record.id).create(fields, **CALL)
            except api_errors.AlreadyExists:
                # A retry of our own create whose first try landed but timed out (a slow
                # server): the document is ours if it holds what we wrote (keys are random).
                if (self.model_ref(record.id).get(**CALL).to_dict() or {}) != fields:
                    raise
        return record

    def get_model(self, model: str) -> ModelRecord | None:
        with self._calls():
            doc = self.model_ref(model).get(**CALL)
        if not doc.exists:
            if is_model_key(model) and isinstance(error := self.missing(model), ConfigError):
                raise error
            return None
        record = self.model_from_doc(doc)
        record.key = model if is_model_key(model) else ""
        return record

    @staticmethod
    def model_from_doc(doc: Any) -> ModelRecord:
        data = doc.to_dict() or {}
        return ModelRecord(
            key="",
            name=str(data.get("name", "")),
            created_at=float(data.get("created_at") or 0.0),
            train_count=int(data.get("train_count") or 0),
            id=doc.id,
        )

    def list_models(self) -> list[ModelRecord]:
        with self._calls():
            docs = list(self._db.collection("models").order_by("created_at").stream(**CALL))
        legacy = [doc.id for doc in docs if is_model_key(doc.id)]
        if legacy:
            raise ConfigError(LEGACY.format(f"{len(legacy)} model(s) are"))
        return [self.model_from_doc(doc) for doc in docs]

    def migrate_legacy(self) -> list[ModelRecord]:
        """Move every model filed under its key to its id (copy, then delete); the moved ones.

        Idempotent and safe to interrupt: a copy is complete before the original goes, and a
        rerun copies again over what an interrupted run left.
        """
        with self._calls():
            docs = [d for d in self._db.collection("models").stream(**CALL) if is_model_key(d.id)]
        moved = []
        for doc in docs:
            new = self.model_ref(doc.id)
            with self._calls():
                trainings = list(doc.reference.collection("trainings").stream(**CALL))
                for training in trainings:
                    target = new.collection("trainings").document(training.id)
                    for sub in ("epochs", "events"):
                        for item in training.reference.collection(sub).stream(**CALL):
                            target.collection(sub).document(item.id).set(item.to_dict(), **CALL)
                    target.set(training.to_dict(), **CALL)
                new.set(doc.to_dict(), **CALL)
            self._delete_tree(doc.reference, [t.id for t in trainings])
            record = self.model_from_doc(doc)
            record.key, record.id = doc.id, model_id_of(doc.id)
            moved.append(record)
        return moved

    def _delete_tree(self, model_ref: Any, training_ids: list[str]) -> None:
        for training_id in training_ids:
            self._delete_training_ref(model_ref.collection("trainings").document(training_id))
        with self._calls():
            model_ref.delete(**CALL)

    def rename_model(self, model: str, name: str) -> bool:
        with self._calls():
            try:
                self.model_ref(model).update({"name": name}, **CALL)
            except api_errors.NotFound:
                return False
        return True

    def delete_model(self, model: str) -> bool:
        with self._calls():
            existed = bool(self.model_ref(model).get(**CALL).exists)
            trainings = list(self.trainings_ref(model).stream(**CALL))
        for training in trainings:
            self.delete_training(model, training.id)
        with self._calls():
            self.model_ref(model).delete(**CALL)
        return existed

    # -- trainings ----------------------------------------------------------------------------

    def start_training(
        self, model: str, training_id: str, params: dict[str, Any], started_at: float
    ) -> int:
        model_ref = self.model_ref(model)
        training_ref = self.trainings_ref(model).document(training_id)
        for _ in range(NUMBERING_ATTEMPTS):
            with self._calls():
                existing = training_ref.get(**CALL)
                if existing.exists:
                    return int(existing.get("number"))
                snapshot = model_ref.get(**CALL)
            if not snapshot.exists:
                raise self.missing(model)
            number = int(snapshot.get("train_count") or 0) + 1
            batch = self._db.batch()
            unchanged = self._db.write_option(last_update_time=snapshot.update_time)
            batch.update(model_ref, {"train_count": number}, option=unchanged)
            batch.create(
                training_ref,
                {
                    "number": number,
                    "status": "running",
                    "params": json.dumps(params),
                    "started_at": started_at,
                    "ended_at": None,
                    "last_seen": started_at,
                    "epochs_done": 0,
                    "final_logs": {},
                    "stop": None,
                    "reason": None,
                },
            )
            with self._calls():
                try:
                    batch.commit(**CALL)
                except _CONTENDED:
                    time.sleep(random.uniform(0.005, 0.05))  # another start won: read again
                    continue
            return number
        raise BackendError(
            f"Firestore project {self._project!r}: could not number the training "
            f"after {NUMBERING_ATTEMPTS} attempts (too many trainings starting at once)"
        )

    def update_training(self, model: str, training_id: str, **fields: Any) -> None:
        fields = _update_fields(fields)
        if not fields:
            return
        with self._calls(), suppress(api_errors.NotFound):
            # Like the local store, updating a training that is not there changes nothing.
            self.trainings_ref(model).document(training_id).update(fields, **CALL)

    def get_training(self, model: str, training_id: str) -> TrainingRecord | None:
        with self._calls():
            doc = self.trainings_ref(model).document(training_id).get(**CALL)
        return training_from_doc(model_id_of(model), doc) if doc.exists else None

    def list_trainings(self, model: str) -> list[TrainingRecord]:
        with self._calls():
            docs = list(self.trainings_ref(model).order_by("number").stream(**CALL))
        return [training_from_doc(model_id_of(model), doc) for doc in docs]

    def delete_training(self, model: str, training_id: str) -> bool:
        return self._delete_training_ref(self.trainings_ref(model).document(training_id))

    def _delete_training_ref(self, training_ref: Any) -> bool:
        with self._calls():
            existed = bool(training_ref.get(**CALL).exists)
            # Firestore keeps a document's sub-collections when it is deleted: empty them first.
            refs = [
                doc.reference
                for sub in ("epochs", "events")
                for doc in training_ref.collection(sub).stream(**CALL)
            ]
            refs.append(training_ref)
            for start in range(0, len(refs), DELETE_CHUNK):
                batch = self._db.batch()
                for ref in refs[start : start + DELETE_CHUNK]:
                    batch.delete(ref)
                batch.commit(**CALL)
        return existed

    # -- epochs -------------------------------------------------------------------------------

    def write_epoch(self, model: str, training_id: str, record: EpochRecord) -> None:
        with self._calls():
            self.epochs_ref(model, training_id).document(f"{record.epoch:05d}").set(
                record.to_json(), **CALL
            )

    def write_batch(self, model: str, training_id: str, writes: Sequence[TrainingWrite]) -> None:
        """One atomic commit: one round trip for an epoch's record, the training's progress
        and any events (Firestore still bills each document written). All or nothing, so a
        failed commit leaves every write to be retried."""
        batch = self._db.batch()
        training_ref = self.trainings_ref(model).document(training_id)
        for kind, body in writes:
            if kind == "epoch":
                ref = self.epochs_ref(model, training_id).document(f"{body.epoch:05d}")
                batch.set(ref, dict(body.to_json()))
            elif kind == "event":
                batch.set(self.events_ref(model, training_id).document(body["id"]), _event(body))
            elif fields := _update_fields(body):
                batch.update(training_ref, fields)
        if len(batch) == 0:  # only empty updates
            return
        with self._calls():
            try:
                batch.commit(**CALL)
            except api_errors.NotFound:
                # An update of a training that is not there fails the whole batch; one by one,
                # it changes nothing and the rest is written, as the other stores do.
                super().write_batch(model, training_id, writes)

    def list_epochs(self, model: str, training_id: str) -> list[EpochRecord]:
        with self._calls():
            docs = list(self.epochs_ref(model, training_id).order_by("epoch").stream(**CALL))
        return [epoch_from_doc(doc) for doc in docs]

    # -- events -------------------------------------------------------------------------------

    def add_event(self, model: str, training_id: str, event: dict[str, Any]) -> None:
        with self._calls():
            self.events_ref(model, training_id).document(event["id"]).set(_event(event), **CALL)

    def list_events(self, model: str, training_id: str) -> list[dict[str, Any]]:
        with self._calls():
            docs = list(self.events_ref(model, training_id).order_by("at").stream(**CALL))
        return [json.loads(doc.get("body")) for doc in docs]

    def close(self) -> None:
        """Release the gRPC channel and the App; never raises."""
        try:
            api = getattr(self, "_db", None) and self._db._firestore_api_internal
            if api is not None:
                api.transport.close()
        except Exception:  # noqa: BLE001 - best effort: the channel dies with the process anyway
            pass
        if self._app is not None:
            with suppress(ValueError):  # already deleted
                firebase_admin.delete_app(self._app)
