"""The training's store thread: every record goes to the on-disk spool, then to the store.

Records leave the spool only once the store accepted them, so an outage (or a crash of this
process) loses nothing already handed over; the next training, or `dltrack sync`, writes what
is left. Rows from earlier processes are replayed too. Store calls can block for seconds when a
server is away, which is why they run here and not on the broker thread.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from typing import Any

from dltrack.backends import open_store
from dltrack.backends.reconnect import Reconnecting
from dltrack.backends.store import Store, TrainingWrite
from dltrack.training.session import TrainingSession
from dltrack.training.spool import Spool, SpoolRow, spool_path
from dltrack.wire.config import mask_url
from dltrack.wire.errors import BackendError, DltrackError, UnknownModelError
from dltrack.wire.keys import model_id
from dltrack.wire.records import EpochRecord
from dltrack.wire.timing import INTERRUPTED_AFTER_S, LAST_SEEN_INTERVAL_S, STORE_RECONNECT_CAP_S

log = logging.getLogger("dltrack")

IDLE_FLUSH_S = 10.0
BATCHED = frozenset({"epoch", "event", "update"})
MAX_BATCH = 100  # rows in one store batch; Firestore takes up to 500 writes


def apply_row(store: Store, row: SpoolRow) -> int | None:
    """Write one spooled operation; returns the training number for a `start`."""
    p = row.payload
    if row.op == "start":
        number = store.start_training(row.model_key, row.training_id, p["params"], p["started_at"])
        mark_interrupted(store, row.model_key, row.training_id)
        return number
    if row.op == "epoch":
        store.write_epoch(row.model_key, row.training_id, EpochRecord.from_json(p))
    elif row.op == "event":
        store.add_event(row.model_key, row.training_id, p["event"])
    elif row.op in ("update", "end"):
        store.update_training(row.model_key, row.training_id, **p)
        if row.op == "end":
            # Also at the end: a training started right after a crash (within
            # INTERRUPTED_AFTER_S) would otherwise leave the dead one `running` for good.
            mark_interrupted(store, row.model_key, row.training_id)
    return None


def batches(rows: list[SpoolRow]) -> list[list[SpoolRow]]:
    """The rows in order, consecutive epochs, events and updates of one training together
    (written as one batch: an epoch's end is one commit); starts and ends alone (a start
    numbers the training in a transaction of its own, an end looks at the other trainings)."""
    groups: list[list[SpoolRow]] = []
    for row in rows:
        last = groups[-1] if groups else None
        if (
            last is not None
            and row.op in BATCHED
            and last[0].op in BATCHED
            and (row.model_key, row.training_id) == (last[0].model_key, last[0].training_id)
            and len(last) < MAX_BATCH
        ):
            last.append(row)
        else:
            groups.append([row])
    return groups


def batched_write(row: SpoolRow) -> TrainingWrite:
    p = row.payload
    if row.op == "epoch":
        return ("epoch", EpochRecord.from_json(p))
    if row.op == "event":
        return ("event", p["event"])
    return ("update", p)


def mark_interrupted(store: Store, model_key: str, except_id: str) -> None:
    """Record as interrupted the trainings of this model that went silent while running."""
    now = time.time()
    for t in store.list_trainings(model_key):
        seen = t.last_seen or t.started_at
        if (
            t.training_id != except_id
            and t.status == "running"
            and now - seen > INTERRUPTED_AFTER_S
        ):
            store.update_training(
                model_key,
                t.training_id,
                status="interrupted",
                reason="no sign of life from the training",
            )


def replay(
    spool: Spool,
    store: Store,
    on_start: Any = None,
    wait: float = 0.0,
    on_unknown: Callable[[str], None] | None = None,
    unknown: set[str] | None = None,
) -> int:
    """Write every spooled row in order; returns how many were written.

    Raises `BackendError` at the first row the store cannot take (order matters: a training's
    start must land before its epochs). The rows of a model the store does not know (deleted,
    or lost by the store) are kept, never dropped silently: the model goes into `unknown` (its
    rows are skipped from then on; pass the same set again to skip them next time),
    `on_unknown(model_key)` is told, and the rest goes on (`dltrack sync` reports them and
    offers --export / --discard). Writes nothing (returns 0) when another thread or process is
    replaying the same spool and does not finish within `wait` seconds: two replayers
    interleaving could apply a training's older `update` after its `end`.
    """
    written = 0
    skip = unknown if unknown is not None else set()
    with spool.replaying(wait) as held:
        if not held:
            return 0
        while rows := spool.pending(skip=frozenset(skip)):
            for group in batches(rows):
                row = group[0]
                try:
                    if len(group) == 1:
                        number = apply_row(store, row)
                    else:
                        number = None
                        writes = [batched_write(r) for r in group]
                        store.write_batch(row.model_key, row.training_id, writes)
                except UnknownModelError:
                    skip.add(row.model_key)
                    if on_unknown is not None:
                        on_unknown(row.model_key)
                    break  # read what is left afresh, without this model's rows
                if number is not None and on_start is not None:
                    on_start(row, number)
                spool.remove(*(r.id for r in group))
                written += len(group)
    return written


def spool_op(spool: Spool, session: TrainingSession, op: tuple[str, dict[str, Any]]) -> None:
    """Append one operation the training handed over to the spool, as a row to replay."""
    kind, body = op
    if kind == "epoch_end":  # the epoch's record and the training's progress, as two rows
        epoch = dict(EpochRecord.from_json(body["record"]).to_json())
        spool.append(session.model_key, session.training_id, "epoch", epoch)
        kind, body = "update", body["update"]
    spool.append(session.model_key, session.training_id, kind, body)


def keep_leftovers(session: TrainingSession) -> int:
    """At shutdown, when the store thread overran `shutdown_timeout` (blocked in a call to an
    unreachable store): spool the operations it has not taken yet, from the calling thread,
    and return how many rows of this training wait in the spool. Never raises."""
    try:
        spool = Spool(spool_path(session.settings.spool_dir, session.settings.store_url))
    except DltrackError:
        return session.left_in_spool
    try:
        while True:
            try:
                op = session.store_ops.get_nowait()
            except queue.Empty:
                break
            spool_op(spool, session, op)
        return spool.count(session.training_id)
    except Exception:  # never break the end of fit(); what is spooled stays spooled
        log.debug("could not spool the last records", exc_info=True)
        return session.left_in_spool
    finally:
        spool.close()


class StoreWriter:
    def __init__(self, session: TrainingSession) -> None:
        self.session = session
        # Made by `run`, on the store thread that owns the connection (see BrokerLink).
        self.store: Reconnecting[Store]
        self.spool: Spool | None = None
        self.seen_at = time.monotonic()
        self.mine = 0  # rows of this session not yet written
        self.flush_at = 0.0  # monotonic: when the spool is next replayed with nothing new
        self.unknown: set[str] = set()  # models the store does not have: their rows wait

    def _on_start(self, row: SpoolRow, number: int) -> None:
        if row.training_id == self.session.training_id:
            self.session.number = number
            self.session.wake_link()  # the broker thread announces it (viewers wait for it)

    def run(self) -> None:
        s = self.session
        self.store = Reconnecting(
            lambda: open_store(s.settings.store_url),
            name="store",
            cap=STORE_RECONNECT_CAP_S,
            on_failure=self._on_failure,
            on_recovered=lambda: log.info("dltrack: the store is back; spooled records written"),
        )
        try:
            self.spool = Spool(spool_path(s.settings.spool_dir, s.settings.store_url))
            deadline: float | None = None
            while True:
                self._take_ops()
                # Only with rows to write (this session's, or at start and every
                # IDLE_FLUSH_S those of earlier processes): an idle spool is not re-read.
                if self.mine or time.monotonic() >= self.flush_at:
                    self.flush_at = time.monotonic() + IDLE_FLUSH_S
                    self._flush()
                self._touch()
                if s.ended.is_set() and s.store_ops.empty():
                    if self.mine == 0:
                        return
                    deadline = deadline or time.monotonic() + s.shutdown_timeout
                    if time.monotonic() >= deadline:
                        s.left_in_spool = self.mine
                        return
                if s.abandoned.is_set():
                    return
                self._wait()
        except DltrackError as exc:  # spool unusable: nothing to keep records in
            s.notice("spool", f"dltrack: records are not kept: {exc}")
        except Exception:  # this thread must never take the training down
            log.exception("dltrack store thread failed; epoch records stop")
        finally:
            self.store.close()
            if self.spool is not None:
                self.spool.close()

    def _wait(self) -> None:
        try:
            # Rows waiting for the store are retried often; otherwise the next op wakes us.
            op = self.session.store_ops.get(timeout=0.2 if self.mine else 1.0)
        except queue.Empty:
            return
        self._spool(op)

    def _take_ops(self) -> None:
        while True:
            try:
                op = self.session.store_ops.get_nowait()
            except queue.Empty:
                return
            self._spool(op)

    def _spool(self, op: tuple[str, dict[str, Any]]) -> None:
        assert self.spool is not None
        spool_op(self.spool, self.session, op)
        self.mine += 1
        if op[0] == "epoch_end" or (op[0] == "update" and "last_seen" in op[1]):
            self.seen_at = time.monotonic()  # an epoch's update says it: no extra write due

    def _flush(self) -> None:
        assert self.spool is not None
        store = self.store.get()
        if store is None:
            return
        try:
            replay(
                self.spool, store, self._on_start, on_unknown=self._on_unknown, unknown=self.unknown
            )
        except BackendError as exc:
            self.store.failed(exc)
            return
        finally:
            self.mine = self._count_mine()
        self.store.succeeded()

    def _on_unknown(self, model_key: str) -> None:
        s = self.session
        if model_key == s.model_key:
            s.notice(
                "unknown",
                f"dltrack: {UnknownModelError(model_id(model_key))}; this training is not tracked",
            )
            s.abandoned.set()

    def _count_mine(self) -> int:
        assert self.spool is not None
        return self.spool.count(self.session.training_id)

    def _on_failure(self, exc: DltrackError, delay: float) -> None:
        s = self.session
        s.notice(
            "store",
            f"dltrack: store {mask_url(s.settings.store_url)} unavailable ({exc}); "
            "epoch records are kept on disk and written when it is back",
        )

    def _touch(self) -> None:
        """Refresh last_seen now and then, so a silent training can be told apart."""
        s = self.session
        now = time.monotonic()
        store = self.store.connection
        if (
            store is None
            or s.number is None
            or s.ended.is_set()
            or now - self.seen_at < LAST_SEEN_INTERVAL_S
        ):
            return
        self.seen_at = now
        try:
            store.update_training(s.model_key, s.training_id, last_seen=time.time())
        except BackendError as exc:
            self.store.failed(exc)
