"""`dltrack sync`: write the records that earlier trainings left in the spool."""

from __future__ import annotations

from dltrack.backends import open_store
from dltrack.training.spool import Spool, spool_path
from dltrack.training.store_writer import replay
from dltrack.wire import config


def sync_spool(*, store: str | None = None) -> tuple[int, int]:
    """Write what earlier trainings left in the spool; returns (written, left)."""
    settings = config.resolve(None, store)
    spool = Spool(spool_path(settings.spool_dir, settings.store_url))
    try:
        s = open_store(settings.store_url)
        try:
            # A training replaying the same spool right now finishes first. Rows of models
            # deleted since are dropped.
            written = replay(spool, s, wait=30.0)
        finally:
            s.close()
        return written, spool.count()
    finally:
        spool.close()
