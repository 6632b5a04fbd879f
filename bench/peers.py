"""The callbacks dltrack is compared with, each set up the way its documentation shows.

`tools(sandbox)` yields the variants the overhead benchmark alternates: a name, how to build
fresh callbacks for one fit(), and what to do around it. A peer that cannot run here (no
RabbitMQ, no mlflow) comes with the reason instead.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from .runner import log
from .sandbox import NO_AMQP, Sandbox, amqp_url


def _nothing() -> None:
    pass


@dataclass
class Variant:
    name: str
    label: str
    make: Callable[[], list[Any]]  # fresh callbacks for one fit()
    skipped: str | None = None  # why it cannot run here
    before: Callable[[], None] = _nothing  # outside the timed region
    after: Callable[[], None] = _nothing  # inside it
    failures: list[str] = field(default_factory=list)


class _Sink(http.server.BaseHTTPRequestHandler):
    """Accepts RemoteMonitor's POSTs, as a real collector would."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _missing(module: str) -> str | None:
    """Why a peer cannot run here: its package is not installed in this interpreter."""
    try:
        __import__(module)
    except ImportError:
        return f"{module} is not installed here (docs/benchmarks.md says how to add it)"
    return None


@contextlib.contextmanager
def tools(sandbox: Sandbox) -> Iterator[list[Variant]]:
    import keras
    from tqdm.keras import TqdmCallback

    from dltrack import Tracker

    from .original_2020 import Original2020Tracker

    key, local, amqp = sandbox.model_key, sandbox.local_url, amqp_url()
    scratch = tempfile.mkdtemp(prefix="dltrack-bench-peers-")  # TensorBoard's logs, MLflow's db
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    remote = f"http://127.0.0.1:{server.server_address[1]}"
    devnull = open(os.devnull, "w")  # noqa: SIM115 - closed below
    runs = count()
    no_rabbit = None if amqp else NO_AMQP
    variants = [
        Variant("none", "no callback", lambda: []),
        Variant(
            "dltrack_local",
            "dltrack, local backend (SQLite)",
            lambda: [Tracker(key, broker=local, store=local)],
        ),
        Variant(
            "dltrack_amqp",
            "dltrack, RabbitMQ (loopback) + SQLite store",
            lambda: [Tracker(key, broker=amqp, store=local)],
            skipped=no_rabbit,
        ),
        Variant(
            "original_2020",
            "2020 original's style (sync publish + thread per batch; bench/original_2020.py)",
            lambda: [Original2020Tracker(key, amqp or "")],
            skipped=no_rabbit,
        ),
        Variant(
            "tqdm",
            "tqdm.keras.TqdmCallback (to /dev/null)",
            lambda: [TqdmCallback(verbose=1, file=devnull)],
        ),
        Variant(
            "tensorboard",
            'keras TensorBoard(update_freq="batch")',
            lambda: [keras.callbacks.TensorBoard(f"{scratch}/tb{next(runs)}", update_freq="batch")],
            skipped=_missing("tensorboard"),
        ),
        Variant(
            "remote_monitor",
            "keras RemoteMonitor (POST per epoch, local http.server)",
            lambda: [keras.callbacks.RemoteMonitor(root=remote)],
        ),
        *_mlflow_variants(scratch),
    ]
    try:
        yield variants
    finally:
        server.shutdown()
        server.server_close()
        devnull.close()
        shutil.rmtree(scratch, ignore_errors=True)
        if amqp:
            try:
                Original2020Tracker(key, amqp).cleanup()
            except Exception as exc:  # noqa: BLE001 - cleanup only: reported, not fatal
                log(f"could not delete the 2020-style queues: {exc}")


def _mlflow_variants(scratch: str) -> list[Variant]:
    why = _missing("mlflow.keras")
    if why is not None:
        return [
            Variant("mlflow_epoch", "MLflow MlflowCallback (per epoch)", list, skipped=why),
            Variant("mlflow_batch", "MLflow MlflowCallback (every step)", list, skipped=why),
        ]
    import mlflow
    import mlflow.keras

    mlflow.set_tracking_uri(f"sqlite:///{os.path.join(scratch, 'mlflow.db')}")
    mlflow.set_experiment("bench")
    # end_run waits for the asynchronous metric logging to land, so it is timed.
    return [
        Variant(
            "mlflow_epoch",
            "MLflow MlflowCallback (per epoch, SQLite tracking store)",
            lambda: [mlflow.keras.MlflowCallback()],
            before=mlflow.start_run,
            after=mlflow.end_run,
        ),
        Variant(
            "mlflow_batch",
            "MLflow MlflowCallback(log_every_n_steps=1)",
            lambda: [mlflow.keras.MlflowCallback(log_every_epoch=False, log_every_n_steps=1)],
            before=mlflow.start_run,
            after=mlflow.end_run,
        ),
    ]
