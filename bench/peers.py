"""The callbacks dltrack is compared with, each set up the way its documentation shows.

`tools()` yields the variants the overhead benchmark alternates: a name, how to build fresh
callbacks for one fit(), and what to do after it. A peer that cannot run here (no RabbitMQ, no
mlflow) is returned with the reason instead.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .sandbox import Sandbox, amqp_url


@dataclass
class Variant:
    name: str
    label: str
    make: Callable[[], list[Any]] | None  # fresh callbacks for one fit()
    skipped: str | None = None  # why it is not run
    after: Callable[[], None] = field(default=lambda: None)  # inside the timed region
    before: Callable[[], None] = field(default=lambda: None)  # outside it
    note: str = ""
    failures: list[str] = field(default_factory=list)


class _Sink(http.server.BaseHTTPRequestHandler):
    """Accepts RemoteMonitor's POSTs, as a real collector would, and counts them."""

    posts = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).posts += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def http_sink() -> Any:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def tools(sandbox: Sandbox, http_root: str, scratch: str) -> list[Variant]:
    import keras

    from dltrack import Tracker

    from .original_2020 import Original2020Tracker

    key = sandbox.model_key
    amqp = amqp_url()
    no_rabbit = "needs RabbitMQ: DLTRACK_TEST_AMQP_URL is not set"
    devnull = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the benchmark
    variants = [
        Variant("none", "no callback", lambda: []),
        Variant(
            "dltrack_local",
            "dltrack, local backend (SQLite)",
            lambda: [Tracker(key, broker=sandbox.local_url, store=sandbox.local_url)],
        ),
        Variant(
            "dltrack_amqp",
            "dltrack, RabbitMQ (loopback) + SQLite store",
            (lambda: [Tracker(key, broker=amqp, store=sandbox.local_url)]) if amqp else None,
            skipped=None if amqp else no_rabbit,
        ),
    ]
    originals: list[Original2020Tracker] = []

    def original() -> list[Any]:
        assert amqp is not None
        originals.append(Original2020Tracker(key, amqp))
        return [originals[-1]]

    variants.append(
        Variant(
            "original_2020",
            "2020 original's style (sync publish + thread per batch)",
            original if amqp else None,
            skipped=None if amqp else no_rabbit,
            note="re-implemented in bench/original_2020.py",
        )
    )
    variants.append(
        Variant(
            "tqdm",
            "tqdm.keras.TqdmCallback (to /dev/null)",
            lambda: [_tqdm_callback(devnull)],
        )
    )
    runs = iter(range(1_000_000))
    tensorboard_missing = _missing("tensorboard")
    variants.append(
        Variant(
            "tensorboard",
            'keras TensorBoard(update_freq="batch")',
            None
            if tensorboard_missing
            else lambda: [
                keras.callbacks.TensorBoard(
                    log_dir=os.path.join(scratch, f"tb{next(runs)}"), update_freq="batch"
                )
            ],
            skipped=tensorboard_missing,
        )
    )
    variants.append(
        Variant(
            "remote_monitor",
            "keras RemoteMonitor (POST per epoch, local http.server)",
            lambda: [keras.callbacks.RemoteMonitor(root=http_root)],
        )
    )
    variants.extend(_mlflow_variants(scratch))
    return variants


def _missing(module: str) -> str | None:
    """Why a peer cannot run here: its package is not installed in this interpreter."""
    try:
        __import__(module)
    except ImportError:
        return f"{module} is not installed here (docs/benchmarks.md says how to add it)"
    return None


def _tqdm_callback(stream: Any) -> Any:
    from tqdm.keras import TqdmCallback

    return TqdmCallback(verbose=1, file=stream)


def _mlflow_variants(scratch: str) -> list[Variant]:
    why = _missing("mlflow.keras")
    if why is not None:
        return [
            Variant("mlflow_epoch", "MLflow MlflowCallback (per epoch)", None, skipped=why),
            Variant("mlflow_batch", "MLflow MlflowCallback (every step)", None, skipped=why),
        ]
    import mlflow
    import mlflow.keras

    mlflow.set_tracking_uri(f"sqlite:///{os.path.join(scratch, 'mlflow.db')}")
    mlflow.set_experiment("bench")

    def start() -> None:
        mlflow.start_run()

    def end() -> None:  # waits for the asynchronous metric logging to land
        mlflow.end_run()

    return [
        Variant(
            "mlflow_epoch",
            "MLflow MlflowCallback (per epoch, SQLite tracking store)",
            lambda: [mlflow.keras.MlflowCallback()],
            before=start,
            after=end,
        ),
        Variant(
            "mlflow_batch",
            "MLflow MlflowCallback(log_every_n_steps=1)",
            lambda: [mlflow.keras.MlflowCallback(log_every_epoch=False, log_every_n_steps=1)],
            before=start,
            after=end,
        ),
    ]


def scratch_dir() -> str:
    return tempfile.mkdtemp(prefix="dltrack-bench-peers-")
