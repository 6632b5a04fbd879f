"""No secret ever leaves its environment variable (docs/architecture.md, invariant 6;
docs/security.md).

A broker password and a service-account key are searched for, verbatim, in everything dltrack
produces during a faulty run on the real servers: widget state (saved into .ipynb files),
watcher snapshots, warnings, every log record at DEBUG (dltrack's and its libraries'), every
message on both exchanges, every stored record, the spool, `dltrack doctor` output and an
executed notebook with its widget state. URLs appear masked (`user:***@host`). The model key
reaches none of them but the training's own spool, and a training token (`dltrack grant`) is
never echoed, whole or in part.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest

from dltrack import Tracker, Watcher, create_model
from dltrack.backends.amqp_broker import COMMANDS_EXCHANGE, UPDATES_EXCHANGE
from dltrack.wire import config
from dltrack.wire.keys import model_id
from dltrack.wire.training_token import ENV, FirebaseGrant, TrainingToken
from tests.helpers import ROOT, run_cli
from tests.reliability.support import captured_logs, dltrack_warnings, drive
from tests.servers import PrivateRabbitMQ, services

pytestmark = [pytest.mark.amqp, pytest.mark.firestore, pytest.mark.slow]


@pytest.fixture
def secret_url(rabbit: PrivateRabbitMQ) -> tuple[str, str]:
    """(URL, password) of a user of its own on the private node, with a random password."""
    user, password = f"u{secrets.token_hex(3)}", f"pw{secrets.token_hex(12)}"
    services.rabbitmqctl(rabbit.info, "add_user", user, password)
    services.rabbitmqctl(rabbit.info, "set_permissions", "-p", "/", user, ".*", ".*", ".*")
    return rabbit.url.replace("guest:guest@", f"{user}:{password}@"), password


class Tap:
    """A durable queue bound to everything on both exchanges: every message, raw."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = f"tap-{secrets.token_hex(4)}"
        self.bodies: list[bytes] = []
        with self._channel() as channel:
            channel.queue_declare(self.name, durable=True)
            for exchange in (UPDATES_EXCHANGE, COMMANDS_EXCHANGE):
                channel.exchange_declare(exchange, exchange_type="topic", durable=True)
                channel.queue_bind(self.name, exchange, "#")

    def _channel(self) -> Any:
        connection = pika.BlockingConnection(pika.URLParameters(self.url))

        class Closing:
            def __enter__(self) -> Any:
                return connection.channel()

            def __exit__(self, *exc: object) -> None:
                connection.close()

        return Closing()

    def drain(self) -> list[bytes]:
        with self._channel() as channel:
            while True:
                method, _, body = channel.basic_get(self.name, auto_ack=True)
                if method is None:
                    break
                self.bodies.append(body)
        return self.bodies

    def delete(self) -> None:
        with self._channel() as channel:
            channel.queue_delete(self.name)


def store_dump(store_url: str, key: str) -> str:
    """Everything the store holds about the model, as text."""
    from dltrack.backends import open_store

    store = open_store(store_url)
    try:
        parts: list[Any] = [store.get_model(key).to_json()]  # type: ignore[union-attr]
        for t in store.list_trainings(key):
            parts.append(t.to_json())
            parts += [e.to_json() for e in store.list_epochs(key, t.training_id)]
        return json.dumps(parts)
    finally:
        store.close()


def test_broker_password_never_leaks_in_a_faulty_run(
    secret_url: tuple[str, str], rabbit: PrivateRabbitMQ, firestore_url: str
) -> None:
    from dltrack_widget import TrainingMonitor

    url, password = secret_url
    key = create_model("secret run", store=firestore_url).key
    tap = Tap(rabbit.url)
    widget = TrainingMonitor(key, broker=url, store=firestore_url)
    watcher = Watcher(key, broker=url, store=firestore_url).start()
    states: list[str] = []
    stop_sent: list[str] = []
    tracker = Tracker(key, broker=url, store=firestore_url)

    def faults(epoch: int, batch: int) -> None:
        if batch:
            return
        states.append(json.dumps(widget.get_state()))
        if epoch == 2:  # the broker goes away mid-run: error paths print URLs
            tap.drain()
            rabbit.stop()
        elif epoch == 4:
            rabbit.start()
        elif epoch > 4 and not stop_sent and tracker._session.broker_connected:  # type: ignore[union-attr]
            stop_sent.append(watcher.stop_training(tracker.training_id, after_epoch=True))

    try:
        with (
            captured_logs("") as logs,
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always")
            run = drive(tracker, epochs=200, steps=10, step_delay=0.02, on_batch=faults)
            time.sleep(1.5)  # the end reaches the viewers
            states.append(json.dumps(widget.get_state()))
            snapshot = json.dumps(watcher.snapshot())
    finally:
        widget.close()
        watcher.close()
        if not services.amqp_answers(int(rabbit.info["port"])):
            rabbit.start()
    assert stop_sent and len(run.history) < 200  # the stop went through the tapped exchange
    bodies = tap.drain()
    tap.delete()
    kinds = {json.loads(b).get("type") for b in bodies}
    assert {"train_begin", "heartbeat", "epoch_end", "command", "ack", "train_end"} <= kinds

    spool_dir = config.resolve().spool_dir
    places = {
        "widget state": "\n".join(states),
        "watcher snapshot": snapshot,
        "warnings": "\n".join(dltrack_warnings(caught)),
        "logs at DEBUG": logs.text(),
        "messages": b"\n".join(bodies).decode("utf-8", "replace"),
        "store": store_dump(firestore_url, key),
        "spool": "".join(p.read_bytes().decode("latin-1") for p in spool_dir.glob("*")),
    }
    leaked = [where for where, text in places.items() if password in text]
    assert leaked == []
    # The model key neither: messages, routing keys and store documents name the public id.
    # (Only the training box's own spool, on its own disk, holds the key it trains with.)
    assert [where for where, text in places.items() if key in text] == ["spool"]
    assert model_id(key) in places["messages"] and model_id(key) in places["store"]
    masked = url.split("//", 1)[1].split(":", 1)[0] + ":***@"
    assert masked in states[-1] and masked in snapshot
    assert "reconnected to the broker" in places["logs at DEBUG"]  # the fault really happened


def test_doctor_masks_the_broker_password(secret_url: tuple[str, str], firestore_url: str) -> None:
    url, password = secret_url
    wrong = url.replace(password, "wrong" + password[::-1])
    good = run_cli("doctor", "--broker", url, "--store", firestore_url)
    bad = run_cli("doctor", "--broker", wrong, "--store", firestore_url)
    assert good.returncode == 0, good.stdout + good.stderr
    assert bad.returncode == 1 and "FAIL  broker: the broker refused user" in bad.stdout
    for done, secret in ((good, password), (bad, "wrong" + password[::-1])):
        output = done.stdout + done.stderr
        assert secret not in output
        assert ":***@" in output


@pytest.fixture
def service_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A well-formed service-account key (a fresh RSA key) whose token server refuses."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    key = {
        "type": "service_account",
        "project_id": "secret-project",
        "private_key_id": secrets.token_hex(20),
        "client_email": "dltrack@secret-project.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": f"http://127.0.0.1:{services.free_port()}/token",
    }
    key["private" + "_key"] = pem
    monkeypatch.delenv("FIRESTORE_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    monkeypatch.setenv("DLTRACK_FIRESTORE_CREDENTIALS", json.dumps(key))
    # A distinctive line of the key's body, and its id: neither may appear anywhere.
    return {"key body": pem.splitlines()[5], "key id": key["private_key_id"]}


def test_service_account_key_never_leaks(service_account: dict[str, str], amqp_url: str) -> None:
    store = "firestore://secret-project"
    key = create_model("service account", store=config.resolve().store_url).key
    doctor = run_cli("doctor", "--broker", amqp_url, "--store", store, timeout=120)
    assert "FAIL  store:" in doctor.stdout
    tracker = Tracker(key, broker=amqp_url, store=store, shutdown_timeout=1.0)
    with captured_logs("") as logs, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        drive(tracker, epochs=2, steps=5, step_delay=0.05)
    produced = doctor.stdout + doctor.stderr + logs.text() + "\n".join(dltrack_warnings(caught))
    assert dltrack_warnings(caught)  # it did fail, and said so
    for what, secret in service_account.items():
        assert secret not in produced, what


@pytest.fixture
def venv_kernel(monkeypatch: pytest.MonkeyPatch) -> str:
    """This environment's `python3` kernel (installed into the venv if missing)."""
    import subprocess

    data_dir = Path(sys.prefix) / "share" / "jupyter"
    if not (data_dir / "kernels" / "python3" / "kernel.json").exists():
        subprocess.run(
            [sys.executable, "-m", "ipykernel", "install", "--sys-prefix"],
            check=True,
            capture_output=True,
        )
    monkeypatch.setenv("JUPYTER_PATH", str(data_dir))
    return "python3"


@pytest.fixture
def notebook_cells(
    secret_url: tuple[str, str], firestore_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[str]]:
    url, password = secret_url
    key = create_model("secret notebook", store=firestore_url).key
    # As `dltrack.use_secrets()` leaves it: the URL in the kernel's environment only.
    monkeypatch.setenv("DLTRACK_BROKER_URL", url)
    wrong = url.replace(password, "wrong" + password[::-1])
    yield [
        "%load_ext dltrack",
        f"monitor = %dltrack {key} --store {firestore_url}\nmonitor",
        "from dltrack import Tracker\nfrom tests.reliability.support import drive\n"
        f"drive(Tracker({key!r}, store={firestore_url!r}), 3, 5, 0.05)\n"
        f"drive(Tracker({key!r}, broker={wrong!r}, store={firestore_url!r}), 2, 5, 0.05)\n"
        "import time; time.sleep(1.5)",
        "import dltrack.wire.config\ndisplay(dltrack.wire.config.resolve())\n"
        "display(monitor.watcher.settings)\nmonitor.watcher.snapshot()['connection']",
    ]


def test_notebook_file_holds_no_password(
    notebook_cells: list[str], secret_url: tuple[str, str], venv_kernel: str
) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    _, password = secret_url
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in notebook_cells]
    client = nbclient.NotebookClient(
        nb,
        timeout=180,
        kernel_name=venv_kernel,
        store_widget_state=True,
        resources={"metadata": {"path": str(ROOT)}},
    )
    client.execute()
    saved = nbformat.writes(nb)
    outputs = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert "error" not in [o["output_type"] for c in nb.cells for o in c.get("outputs", [])]
    assert "application/vnd.jupyter.widget-view+json" in outputs  # the monitor was shown
    assert nb.metadata.get("widgets")  # with its state saved in the file
    assert "refused user" in outputs  # the wrong password's warning, masked
    assert ":***@" in outputs
    assert password not in saved


def test_a_training_token_is_never_echoed(secret_url: tuple[str, str], model_key: str) -> None:
    from tests.helpers import tiny_data, tiny_model

    url, password = secret_url
    refresh = f"refresh-{secrets.token_hex(12)}"
    token = TrainingToken(model_key, url, None, FirebaseGrant(refresh, "public-api-key"))
    shown = repr(token) + repr(token.firebase)
    assert all(secret not in shown for secret in (model_key, password, refresh))
    assert model_id(model_key) in shown
    # A mangled token: one warning that says what to do, and not one character of it.
    mangled = token.encode()[:-7] + "#" * 7
    x, y = tiny_data(32)
    with warnings.catch_warnings(record=True) as caught, captured_logs("") as logs:
        warnings.simplefilter("always")
        import os

        os.environ[ENV] = mangled
        try:
            history = tiny_model().fit(x, y, epochs=1, callbacks=[Tracker()], verbose=0)
            doctor = run_cli("doctor")
        finally:
            del os.environ[ENV]
    ours = dltrack_warnings(caught)
    assert history.epoch == [0] and len(ours) == 1 and "dltrack grant" in ours[0]
    outputs = "\n".join([*ours, logs.text(), doctor.stdout, doctor.stderr])
    assert "dltrack grant" in doctor.stdout + doctor.stderr
    assert mangled[5:25] not in outputs and password not in outputs and refresh not in outputs
