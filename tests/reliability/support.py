"""What the reliability tests share: a fake training loop, a TCP gate, a Firestore emulator that
survives a restart, RabbitMQ node inspection, and the checks every fault test ends with."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.servers import PrivateFirestore, PrivateRabbitMQ, services

# Outside the checkout: other suites clear test-artifacts/ while they run.
FIGURES = Path(
    os.environ.get("DLTRACK_RELIABILITY_FIGURES")
    or Path(tempfile.gettempdir()) / "dltrack-reliability-figures.jsonl"
)


# -- a training without Keras' cost: a plain loop driving a real Tracker's hooks ------------------


@dataclass
class FakeOptimizer:
    learning_rate: float = 0.01


@dataclass
class FakeModel:
    """What a Tracker reads from a Keras model, and the flag it sets to stop the loop."""

    name: str = "fake_model"
    stop_training: bool = False
    optimizer: FakeOptimizer = field(default_factory=FakeOptimizer)
    steps_per_execution: int = 1

    def count_params(self) -> int:
        return 1234


def epoch_logs(epoch: int) -> dict[str, float]:
    return {"loss": 1.0 / (epoch + 1), "mae": 0.5 / (epoch + 1), "val_loss": 1.1 / (epoch + 1)}


@dataclass
class Run:
    """What a driven training returned: its history, and how long on_train_end took."""

    history: list[dict[str, float]]
    train_end_s: float
    model: FakeModel


def drive(
    tracker: Any,
    epochs: int,
    steps: int,
    step_delay: float = 0.0,
    on_batch: Callable[[int, int], None] | None = None,
    metrics: Callable[[int], dict[str, float]] = epoch_logs,
) -> Run:
    """Run the hooks in the order Keras' fit() does, on the calling thread."""
    model = FakeModel()
    tracker.set_model(model)
    tracker.set_params({"epochs": epochs, "steps": steps, "verbose": 0})
    tracker.on_train_begin()
    history: list[dict[str, float]] = []
    for epoch in range(epochs):
        tracker.on_epoch_begin(epoch)
        for batch in range(steps):
            tracker.on_train_batch_begin(batch)
            tracker.on_train_batch_end(batch, {"loss": 1.0 / (epoch * steps + batch + 1)})
            if on_batch is not None:
                on_batch(epoch, batch)
            if step_delay:
                time.sleep(step_delay)
            if model.stop_training:
                break
        logs = metrics(epoch)
        tracker.on_epoch_end(epoch, logs)
        history.append(logs)
        if model.stop_training:
            break
    started = time.monotonic()
    tracker.on_train_end()
    return Run(history, time.monotonic() - started, model)


# -- the checks every fault test ends with -----------------------------------------------------


def stored_epochs(store_url: str, model_key: str, training_id: str) -> list[Any]:
    from dltrack.backends import open_store

    store = open_store(store_url)
    try:
        return store.list_epochs(model_key, training_id)
    finally:
        store.close()


def stored_training(store_url: str, model_key: str, training_id: str) -> Any:
    from dltrack.backends import open_store

    store = open_store(store_url)
    try:
        return store.get_training(model_key, training_id)
    finally:
        store.close()


def assert_every_epoch_once(
    store_url: str, model_key: str, training_id: str, history: list[dict[str, float]]
) -> None:
    """The store holds each epoch of `history` exactly once, with the logs fit() returned."""
    records = stored_epochs(store_url, model_key, training_id)
    numbers = [r.epoch for r in records]
    assert numbers == list(range(len(history))), numbers
    for record, logs in zip(records, history, strict=True):
        # Each record adds the optimizer's learning rate at the epoch's end (docs/control.md).
        stored = {k: v for k, v in record.logs.items() if k != "lr"}
        assert stored == logs and "lr" in record.logs, (record.epoch, record.logs, logs)


def keras_history_as_list(history: Any) -> list[dict[str, float]]:
    """A Keras History as one logs dict per epoch."""
    names = list(history.history)
    return [
        {name: float(history.history[name][i]) for name in names} for i in range(len(history.epoch))
    ]


def dltrack_warnings(caught: list[Any]) -> list[str]:
    from dltrack import DltrackWarning

    return [str(w.message) for w in caught if issubclass(w.category, DltrackWarning)]


# -- logs ----------------------------------------------------------------------------------------


class LogCapture(logging.Handler):
    """Every record of a logger (formatted, with tracebacks), with when it came."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[float, logging.LogRecord, str]] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self._lock2 = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        with self._lock2:
            self.records.append((time.monotonic(), record, text))

    def text(self) -> str:
        with self._lock2:
            return "\n".join(text for _, _, text in self.records)

    def first(self, fragment: str) -> float | None:
        """When a message containing `fragment` was first logged (time.monotonic)."""
        with self._lock2:
            return next((at for at, r, _ in self.records if fragment in r.getMessage()), None)

    def messages(self) -> list[str]:
        with self._lock2:
            return [r.getMessage() for _, r, _ in self.records]


@contextlib.contextmanager
def captured_logs(*names: str) -> Iterator[LogCapture]:
    """Capture the named loggers ('' for the root) at DEBUG inside the block."""
    handler = LogCapture()
    loggers = [logging.getLogger(name) for name in names or ("dltrack",)]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)


# -- figures for docs/reliability.md -------------------------------------------------------------


def record_figure(name: str, **values: Any) -> None:
    """Append a measured figure to FIGURES (docs/reliability.md quotes them)."""
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    rounded = {k: round(v, 2) if isinstance(v, float) else v for k, v in values.items()}
    at = time.strftime("%Y-%m-%d %H:%M:%S")
    # The pid tells concurrent runs apart (they append to the same file).
    line = json.dumps({"name": name, "at": at, "pid": os.getpid(), **rounded})
    with FIGURES.open("a") as out:
        out.write(line + "\n")


# -- a TCP gate: the network between a client and a server, opened and closed at will -------------


class TcpGate:
    """Forward 127.0.0.1:`port` to `upstream` while open; refuse connections while closed.

    Closing also cuts every connection in flight, as a server that goes away does.
    """

    def __init__(self, upstream: str) -> None:
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.port = services.free_port()
        self.address = f"127.0.0.1:{self.port}"
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.open()

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            conns, self._conns = self._conns, set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00" * 2)
                conn.close()

    @contextlib.contextmanager
    def closed(self) -> Iterator[None]:
        self.close()
        try:
            yield
        finally:
            self.open()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._conns |= {client, server}
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


# -- a Firestore emulator whose data outlives a restart ---------------------------------------


class DurableFirestore:
    """The private emulator behind a TcpGate. The emulator keeps documents in memory only, so
    `restart()` copies them out and back, as a real server's disk would; the gate stays closed
    meanwhile, so no client writes anything that the copy would miss."""

    def __init__(self, emulator: PrivateFirestore) -> None:
        self.emulator = emulator
        self.gate = TcpGate(emulator.host)
        self.address = self.gate.address
        self.projects: set[str] = set()

    def new_url(self) -> str:
        """A fresh `firestore://` project on this emulator (its documents survive restarts)."""
        project = f"test-{secrets.token_hex(6)}"
        self.projects.add(project)
        return f"firestore://{project}"

    def _rest(self, method: str, path: str, body: Any = None) -> Any:
        request = urllib.request.Request(
            f"http://{self.emulator.host}/v1/{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": "Bearer owner", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.loads(reply.read() or b"{}")

    def _documents(self, project: str, parent: str) -> list[dict[str, Any]]:
        base = f"projects/{project}/databases/(default)/documents"
        where = f"{base}/{parent}" if parent else base
        ids = self._rest("POST", f"{where}:listCollectionIds", {}).get("collectionIds", [])
        found = []
        for collection in ids:
            path = f"{parent}/{collection}" if parent else collection
            listed = self._rest("GET", f"{base}/{path}?pageSize=10000&showMissing=true")
            for doc in listed.get("documents", []):
                if "fields" in doc or "createTime" in doc:
                    found.append({"name": doc["name"], "fields": doc.get("fields", {})})
                found += self._documents(project, doc["name"].split("/documents/", 1)[1])
        return found

    def restart(self, down_for: float = 0.0, during: Callable[[], None] | None = None) -> None:
        """Stop the emulator (its clients see it go), wait `down_for` s, start it, restore."""
        with self.gate.closed():
            saved = {p: self._documents(p, "") for p in self.projects}
            self.emulator.stop()
            time.sleep(down_for)
            if during is not None:
                during()
            self.emulator.start()
            for project, docs in saved.items():
                for start in range(0, len(docs), 400):
                    writes = [{"update": d} for d in docs[start : start + 400]]
                    self._rest(
                        "POST",
                        f"projects/{project}/databases/(default)/documents:commit",
                        {"writes": writes},
                    )


# -- RabbitMQ node inspection and a hard kill --------------------------------------------------


def list_queues(node: PrivateRabbitMQ, *columns: str) -> dict[str, dict[str, str]]:
    """Queue name → {column: value} on the private node (`rabbitmqctl list_queues`), with
    `consumers` and any other `columns`."""
    info = node.info
    wanted = ["name", "consumers", *columns]
    done = subprocess.run(
        [
            services.rabbit_tool("rabbitmqctl"),
            "-n",
            info["node"],
            "list_queues",
            "-q",
            "--no-table-headers",
            *wanted,
        ],
        env=services.rabbit_env(info),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    queues = {}
    for line in done.stdout.splitlines():
        values = line.split("\t")
        if len(values) == len(wanted):
            queues[values[0]] = dict(zip(wanted[1:], values[1:], strict=True))
    return queues


def kill_rabbitmq(node: PrivateRabbitMQ) -> None:
    """SIGKILL the node's whole process group: no clean shutdown, the durable state is lost
    (the fresh node started by `restart_killed_rabbitmq` has no exchanges)."""
    pid = int(node.info["pid"])
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while services.amqp_answers(int(node.info["port"]), timeout=0.5):
        assert time.monotonic() < deadline, "RabbitMQ survived SIGKILL"
        time.sleep(0.1)


def restart_killed_rabbitmq(node: PrivateRabbitMQ) -> None:
    old = node.info
    info = services.start_rabbitmq_node(int(old["port"]))
    info["epmd_was_running"] = old.get("epmd_was_running", True)
    node.info = info


def ensure_rabbitmq_up(node: PrivateRabbitMQ) -> None:
    """Bring the node back whatever a failed test left: app stopped, or node killed."""
    if services.amqp_answers(int(node.info["port"])):
        return
    try:
        node.start()
    except (services.ServiceError, subprocess.SubprocessError, OSError):
        restart_killed_rabbitmq(node)
