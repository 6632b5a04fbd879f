"""The Store on Cloud Firestore (through firebase-admin), for `firestore://PROJECT_ID` URLs.

Documents (docs/protocol.md, "Store"): `models/{model_key}` {name, created_at, train_count} →
`trainings/{training_id}` {number, status, params, started_at, ended_at, last_seen, epochs_done,
final_logs, stop, reason} → `epochs/{epoch:05d}` {epoch, logs, steps, started_at, ended_at}.
Times are Unix seconds (floats), as in the local store. `params` is stored as JSON text: it
holds user-chosen names, and Firestore refuses some field names (`__x__`) and nested arrays.

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
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import urlsplit

from dltrack.backends.store import Store
from dltrack.wire.errors import BackendError, MissingDependencyError, UnknownModelError
from dltrack.wire.keys import new_model_key
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

from dltrack.backends.firestore_credentials import firebase_credential
from dltrack.backends.firestore_errors import server_error
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


def _training(model_key: str, doc: Any) -> TrainingRecord:
    data = doc.to_dict() or {}
    return TrainingRecord(
        model_key=model_key,
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


def _epoch(doc: Any) -> EpochRecord:
    return EpochRecord.from_json(doc.to_dict() or {})


class FirestoreStore(Store):
    """A Store in the Firestore database of `firestore://PROJECT_ID`; see the module docstring.

    Args:
        url: `firestore://PROJECT_ID`. Credentials come from the environment
            (`firestore_credentials`); with `FIRESTORE_EMULATOR_HOST` set, the emulator is used.
    """

    def __init__(self, url: str) -> None:
        self._project = urlsplit(url).netloc
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

    @contextmanager
    def _calls(self) -> Iterator[None]:
        try:
            yield
        except (api_errors.GoogleAPIError, auth_errors.GoogleAuthError) as exc:
            server_error(exc, self._project)

    def _model(self, model_key: str) -> Any:
        return self._db.collection("models").document(model_key)

    def _trainings(self, model_key: str) -> Any:
        return self._model(model_key).collection("trainings")

    def _epochs(self, model_key: str, training_id: str) -> Any:
        return self._trainings(model_key).document(training_id).collection("epochs")

    def _events(self, model_key: str, training_id: str) -> Any:
        return self._trainings(model_key).document(training_id).collection("events")

    # -- models -------------------------------------------------------------------------------

    def create_model(self, name: str) -> ModelRecord:
        record = ModelRecord(key=new_model_key(), name=name, created_at=time.time())
        with self._calls():
            self._model(record.key).create(
                {"name": name, "created_at": record.created_at, "train_count": 0}, **CALL
            )
        return record

    def get_model(self, model_key: str) -> ModelRecord | None:
        with self._calls():
            doc = self._model(model_key).get(**CALL)
        if not doc.exists:
            return None
        return self._model_record(doc)

    @staticmethod
    def _model_record(doc: Any) -> ModelRecord:
        data = doc.to_dict() or {}
        return ModelRecord(
            key=doc.id,
            name=str(data.get("name", "")),
            created_at=float(data.get("created_at") or 0.0),
            train_count=int(data.get("train_count") or 0),
        )

    def list_models(self) -> list[ModelRecord]:
        with self._calls():
            docs = list(self._db.collection("models").order_by("created_at").stream(**CALL))
        return [self._model_record(doc) for doc in docs]

    def rename_model(self, model_key: str, name: str) -> bool:
        with self._calls():
            try:
                self._model(model_key).update({"name": name}, **CALL)
            except api_errors.NotFound:
                return False
        return True

    def delete_model(self, model_key: str) -> bool:
        with self._calls():
            existed = bool(self._model(model_key).get(**CALL).exists)
            trainings = list(self._trainings(model_key).stream(**CALL))
        for training in trainings:
            self.delete_training(model_key, training.id)
        with self._calls():
            self._model(model_key).delete(**CALL)
        return existed

    # -- trainings ----------------------------------------------------------------------------

    def start_training(
        self, model_key: str, training_id: str, params: dict[str, Any], started_at: float
    ) -> int:
        model_ref = self._model(model_key)
        training_ref = self._trainings(model_key).document(training_id)
        for _ in range(NUMBERING_ATTEMPTS):
            with self._calls():
                existing = training_ref.get(**CALL)
                if existing.exists:
                    return int(existing.get("number"))
                model = model_ref.get(**CALL)
            if not model.exists:
                raise UnknownModelError(model_key)
            number = int(model.get("train_count") or 0) + 1
            batch = self._db.batch()
            unchanged = self._db.write_option(last_update_time=model.update_time)
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

    def update_training(self, model_key: str, training_id: str, **fields: Any) -> None:
        unknown = set(fields) - TRAINING_UPDATE_FIELDS
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        if not fields:
            return
        if "params" in fields:
            fields["params"] = json.dumps(fields["params"] or {})
        with self._calls(), suppress(api_errors.NotFound):
            # Like the local store, updating a training that is not there changes nothing.
            self._trainings(model_key).document(training_id).update(fields, **CALL)

    def get_training(self, model_key: str, training_id: str) -> TrainingRecord | None:
        with self._calls():
            doc = self._trainings(model_key).document(training_id).get(**CALL)
        return _training(model_key, doc) if doc.exists else None

    def list_trainings(self, model_key: str) -> list[TrainingRecord]:
        with self._calls():
            docs = list(self._trainings(model_key).order_by("number").stream(**CALL))
        return [_training(model_key, doc) for doc in docs]

    def delete_training(self, model_key: str, training_id: str) -> bool:
        training_ref = self._trainings(model_key).document(training_id)
        with self._calls():
            existed = bool(training_ref.get(**CALL).exists)
            # Firestore keeps a document's sub-collections when it is deleted: empty them first.
            refs = [
                doc.reference
                for sub in (self._epochs, self._events)
                for doc in sub(model_key, training_id).stream(**CALL)
            ]
            refs.append(training_ref)
            for start in range(0, len(refs), DELETE_CHUNK):
                batch = self._db.batch()
                for ref in refs[start : start + DELETE_CHUNK]:
                    batch.delete(ref)
                batch.commit(**CALL)
        return existed

    # -- epochs -------------------------------------------------------------------------------

    def write_epoch(self, model_key: str, training_id: str, record: EpochRecord) -> None:
        with self._calls():
            self._epochs(model_key, training_id).document(f"{record.epoch:05d}").set(
                record.to_json(), **CALL
            )

    def list_epochs(self, model_key: str, training_id: str) -> list[EpochRecord]:
        with self._calls():
            docs = list(self._epochs(model_key, training_id).order_by("epoch").stream(**CALL))
        return [_epoch(doc) for doc in docs]

    # -- events -------------------------------------------------------------------------------

    def add_event(self, model_key: str, training_id: str, event: dict[str, Any]) -> None:
        # As JSON text: event values are free-form scalars, kept exactly as written.
        with self._calls():
            self._events(model_key, training_id).document(event["id"]).set(
                {"at": event["at"], "body": json.dumps(event)}, **CALL
            )

    def list_events(self, model_key: str, training_id: str) -> list[dict[str, Any]]:
        with self._calls():
            docs = list(self._events(model_key, training_id).order_by("at").stream(**CALL))
        return [json.loads(doc.get("body")) for doc in docs]

    def close(self) -> None:
        """Release the gRPC channel and the App; never raises."""
        try:
            api = getattr(self, "_db", None) and self._db._firestore_api_internal
            if api is not None:
                api.transport.close()
        except Exception:  # noqa: BLE001 - best effort: the channel dies with the process anyway
            pass
        with suppress(ValueError):  # already deleted
            firebase_admin.delete_app(self._app)
