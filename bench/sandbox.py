"""A throwaway dltrack home (SQLite broker and store) with one model, and the RabbitMQ URL.

Every benchmark runs in its own `Sandbox`, so it never touches the user's ~/.dltrack and a run
leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

AMQP_ENV = "DLTRACK_TEST_AMQP_URL"


def amqp_url() -> str | None:
    """RabbitMQ for the AMQP rows: `DLTRACK_TEST_AMQP_URL` (tools/services.py sets it)."""
    return os.environ.get(AMQP_ENV) or None


class Sandbox:
    """A temporary DLTRACK_HOME holding a local broker+store file and a model in it."""

    def __init__(self, name: str = "bench") -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=f"dltrack-{name}-"))
        self.local_url = f"sqlite:///{self.dir / 'dltrack.db'}"
        self._old_home = os.environ.get("DLTRACK_HOME")
        os.environ["DLTRACK_HOME"] = str(self.dir)
        from dltrack.viewing.catalog import create_model

        self.model_key = create_model(name, store=self.local_url).key

    def new_model(self, name: str) -> str:
        from dltrack.viewing.catalog import create_model

        return create_model(name, store=self.local_url).key

    def broker_url(self, backend: str) -> str:
        """`local` or `amqp` → the broker URL to hand to Tracker/Watcher."""
        if backend == "local":
            return self.local_url
        url = amqp_url()
        if url is None:
            raise RuntimeError(f"{AMQP_ENV} is not set: RabbitMQ rows cannot run")
        return url

    def close(self) -> None:
        if self._old_home is None:
            os.environ.pop("DLTRACK_HOME", None)
        else:
            os.environ["DLTRACK_HOME"] = self._old_home
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
