"""The real servers as pytest fixtures: RabbitMQ and the Cloud Firestore emulator.

`tools/services.py run -- pytest ...` provides both and passes their addresses in
`DLTRACK_TEST_AMQP_URL` / `DLTRACK_TEST_FIRESTORE_EMULATOR`; a plain `pytest` starts them itself
through the same code (and stops them when the session ends). A server that cannot be had fails
the tests that need it under CI=true, and skips them elsewhere.

Fault tests use `private_rabbitmq` / `private_firestore`: servers of their own (the shared ones
may serve other test runs at the same time), with `stop()`, `start()` and `down()`.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
AMQP_ENV = "DLTRACK_TEST_AMQP_URL"
FIRESTORE_ENV = "DLTRACK_TEST_FIRESTORE_EMULATOR"

# Google's auth library otherwise probes the metadata server of a Google VM (a link-local
# address) whenever a test runs without credentials.
os.environ.setdefault("NO_GCE_CHECK", "true")


def _services_module() -> ModuleType:
    """tools/services.py, imported by path (tools/ is not a package)."""
    name = "dltrack_tools_services"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / "services.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


services = _services_module()


def _unavailable(what: str, why: str) -> None:
    message = f"{what} unavailable: {why}"
    if services.in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def _service_env() -> Iterator[dict[str, str]]:
    """Addresses of the servers: from the environment, else started for this session."""
    given = {name: os.environ[name] for name in (AMQP_ENV, FIRESTORE_ENV) if os.environ.get(name)}
    if len(given) == 2:
        yield given
        return
    user = os.getpid()
    env, failures = services.acquire(user, services.in_ci())
    try:
        yield {**env, **given, "failures": "; ".join(failures)}
    finally:
        services.release(user)


@pytest.fixture(scope="session")
def amqp_url(_service_env: dict[str, str]) -> str:
    """`amqp://guest:guest@127.0.0.1:PORT/%2F` of a running RabbitMQ."""
    url = _service_env.get(AMQP_ENV)
    if not url:
        _unavailable("RabbitMQ", _service_env.get("failures") or "not provided")
    return str(url)


@pytest.fixture(scope="session")
def firestore_emulator(_service_env: dict[str, str]) -> Iterator[str]:
    """`host:port` of a running Firestore emulator; FIRESTORE_EMULATOR_HOST points there."""
    host = _service_env.get(FIRESTORE_ENV)
    if not host:
        _unavailable("the Firestore emulator", _service_env.get("failures") or "not provided")
    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = str(host)
    yield str(host)
    if previous is None:
        os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
    else:
        os.environ["FIRESTORE_EMULATOR_HOST"] = previous


@pytest.fixture
def firestore_url(firestore_emulator: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh `firestore://test-…` project: the emulator keeps projects apart, so each test
    starts empty without clearing anything."""
    # Another fixture may have cleared it for this test; the emulator must win.
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore_emulator)
    return f"firestore://test-{secrets.token_hex(6)}"


# --- private servers for fault tests -----------------------------------------------------------


class PrivateRabbitMQ:
    """A RabbitMQ node of this test session alone, so stopping it disturbs nobody else."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info
        self.url = f"amqp://guest:guest@127.0.0.1:{info['port']}/%2F"

    def stop(self) -> None:
        """Stop the RabbitMQ application: open connections drop, new ones are refused."""
        services.pause_rabbitmq(self.info)

    def start(self) -> None:
        """Start it again and wait until it accepts connections."""
        services.resume_rabbitmq(self.info)

    @contextmanager
    def down(self) -> Iterator[None]:
        """Down inside the block, back (accepting connections) after it."""
        self.stop()
        try:
            yield
        finally:
            self.start()


class PrivateFirestore:
    """A Firestore emulator of this test session alone; `host` is its `host:port`."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info
        self.host = str(info["host"])

    def stop(self) -> None:
        """Kill the emulator (it forgets every document)."""
        services.stop_firestore(self.info)

    def start(self) -> None:
        """Start it again on the same host:port and wait until it answers."""
        self.info = services.provide_firestore(int(self.info["port"]))

    @contextmanager
    def down(self) -> Iterator[None]:
        """Down inside the block, back (empty) after it."""
        self.stop()
        try:
            yield
        finally:
            self.start()


@pytest.fixture(scope="session")
def private_rabbitmq() -> Iterator[PrivateRabbitMQ]:
    """A RabbitMQ node for tests that stop and start the server (~5 s to start)."""
    try:
        info = services.start_rabbitmq_node(services.free_port())
    except (services.ServiceError, OSError) as exc:
        _unavailable("a private RabbitMQ", str(exc))
    yield PrivateRabbitMQ(info)
    services.stop_rabbitmq(info)


@pytest.fixture(scope="session")
def rabbitmq_admin() -> Iterator[dict[str, Any]]:
    """A RabbitMQ node with its management API, where `dltrack grant` makes per-model users:
    `url` (guest, the owner) and `management` (the API's base URL)."""
    try:
        info = services.start_rabbitmq_node(services.free_port(), management=True)
    except (services.ServiceError, OSError) as exc:
        _unavailable("a RabbitMQ with the management plugin", str(exc))
    yield {
        "url": f"amqp://guest:guest@127.0.0.1:{info['port']}/%2F",
        "management": f"http://127.0.0.1:{info['management_port']}/api",
    }
    services.stop_rabbitmq(info)


@pytest.fixture(scope="session")
def firestore_with_rules() -> Iterator[str]:
    """`host:port` of a Firestore emulator of our own that enforces the shipped
    firestore.rules (on ID tokens; admin clients, "Bearer owner", bypass them as in Firestore)."""
    try:
        info = services.provide_firestore(rules=ROOT / "firestore.rules")
    except (services.ServiceError, OSError) as exc:
        _unavailable("a Firestore emulator with rules", str(exc))
    _until_it_serves(str(info["host"]))
    yield str(info["host"])
    services.stop_firestore(info)


def _until_it_serves(host: str) -> None:
    """Answering HTTP is not yet serving: on a loaded machine the first calls of a fresh
    emulator (rules compiled) can time out, so wait for one that works (at most a minute)."""
    import time

    from dltrack.backends import open_store
    from dltrack.wire.errors import BackendError

    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = host
    deadline = time.monotonic() + 60
    try:
        while True:
            store = open_store("firestore://warm-up")
            try:
                store.list_models()
                return
            except BackendError:
                if time.monotonic() > deadline:
                    raise
            finally:
                store.close()
    finally:
        if previous is None:
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = previous


@pytest.fixture(scope="session")
def auth_emulator() -> Iterator[str]:
    """`host:port` of a Firebase Auth emulator (tools/auth_emulator.js). Needs the npm package
    firebase-tools under `DLTRACK_FIREBASE_TOOLS` (a node_modules folder), else the one
    `tools/setup.sh --test` installs into tools/firebase/node_modules."""
    import subprocess
    import time

    modules = Path(
        os.environ.get("DLTRACK_FIREBASE_TOOLS") or ROOT / "tools" / "firebase" / "node_modules"
    )
    if not (modules / "firebase-tools").is_dir():
        _unavailable("the Firebase Auth emulator", f"no firebase-tools in {modules}")
    port = services.free_port()
    proc = subprocess.Popen(
        ["node", str(ROOT / "tools" / "auth_emulator.js"), str(port)],
        env={**os.environ, "NODE_PATH": str(modules)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 600  # compiling its API spec is slow on a loaded machine
    line = proc.stdout.readline()
    if "ready" not in line or time.monotonic() > deadline:
        proc.kill()
        _unavailable("the Firebase Auth emulator", line.strip() or "it exited")
    yield f"127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def private_firestore() -> Iterator[PrivateFirestore]:
    """A Firestore emulator for tests that stop and start the server (~2 s to start)."""
    try:
        handle = PrivateFirestore(services.provide_firestore())
    except (services.ServiceError, OSError) as exc:
        _unavailable("a private Firestore emulator", str(exc))
    yield handle
    services.stop_firestore(handle.info)
