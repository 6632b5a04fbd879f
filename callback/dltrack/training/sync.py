"""`dltrack sync`: write the records that earlier trainings left in the spool.

Rows of a model the store does not have (deleted, or lost by the store) can never be written.
They are kept and reported, never dropped silently: the user may export them to a file
(`--export FILE`, JSON lines) and/or discard them (`--discard`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from dltrack.backends import open_store
from dltrack.training.spool import Spool, spool_path
from dltrack.training.store_writer import replay
from dltrack.wire import config
from dltrack.wire.errors import ConfigError


@dataclass
class SyncReport:
    written: int
    left: int
    # Rows of models the store does not have: how many, and of which trainings.
    unwritable: int = 0
    trainings: list[str] = field(default_factory=list)
    exported_to: Path | None = None
    discarded: int = 0


def sync_spool(
    *, store: str | None = None, export: Path | None = None, discard: bool = False
) -> SyncReport:
    """Write what earlier trainings left in the spool."""
    settings = config.resolve(None, store)
    spool = Spool(spool_path(settings.spool_dir, settings.store_url))
    try:
        s = open_store(settings.store_url)
        unknown: set[str] = set()
        try:
            # A training replaying the same spool right now finishes first.
            written = replay(spool, s, wait=30.0, unknown=unknown)
        finally:
            s.close()
        rows = spool.rows_of(frozenset(unknown)) if unknown else []
        report = SyncReport(
            written,
            spool.count(),
            unwritable=len(rows),
            trainings=sorted({r.training_id for r in rows}),
        )
        if rows and export is not None:
            try:
                with export.open("w") as out:
                    for r in rows:
                        line = {
                            "model_key": r.model_key,
                            "training_id": r.training_id,
                            "op": r.op,
                            "payload": r.payload,
                        }
                        out.write(json.dumps(line) + "\n")
            except OSError as exc:
                raise ConfigError(f"cannot write {export}: {exc.strerror or exc}") from None
            report.exported_to = export
        if rows and discard:
            report.discarded = sum(spool.drop_model(key) for key in unknown)
            report.left = spool.count()
        return report
    finally:
        spool.close()
