"""A throwaway dltrack home (SQLite broker and store) with one model, and the RabbitMQ URL.

Every benchmark runs in its own `Sandbox`, so it never touches the user's ~/.dltrack and a run
leaves nothing behind. RabbitMQ comes from `DLTRACK_TEST_AMQP_URL` (`tools/services.py run`
sets it); without it the RabbitMQ rows are skipped, with that reason.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

NO_AMQP = "needs RabbitMQ: DLTRACK_TEST_AMQP_URL is not set"


def amqp_url() -> str | None:
    return os.environ.get("DLTRACK_TEST_AMQP_URL") or None


def backends() -> dict[str, str | None]:
    """Each backend with the reason it cannot run here (None: it can)."""
    return {"local": None, "amqp": None if amqp_url() else NO_AMQP}


class Sandbox:
    """A temporary DLTRACK_HOME holding a local broker+store file and a model in it."""

    def __init__(self, name: str = "bench") -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=f"dltrack-{name}-"))
        self.local_url = f"sqlite:///{self.dir / 'dltrack.db'}"
        # Where models and their history go; a bench may point it elsewhere (bench/proxy.py:
        # a Firestore emulator behind a latency proxy) before making its models.
        self.store_url = self.local_url
        self._old_home = os.environ.get("DLTRACK_HOME")
        os.environ["DLTRACK_HOME"] = str(self.dir)
        self.model_key = self.new_model(name)

    def new_model(self, name: str) -> str:
        from dltrack.viewing.catalog import create_model

        return create_model(name, store=self.store_url).key

    def broker_url(self, backend: str) -> str:
        """`local` or `amqp` -> the broker URL to hand to Tracker/Watcher."""
        url = self.local_url if backend == "local" else amqp_url()
        if url is None:
            raise RuntimeError(NO_AMQP)
        return url

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._old_home is None:
            os.environ.pop("DLTRACK_HOME", None)
        else:
            os.environ["DLTRACK_HOME"] = self._old_home
        shutil.rmtree(self.dir, ignore_errors=True)
