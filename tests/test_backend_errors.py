"""Bad broker and store settings give one clear line, never a traceback or a secret."""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

from dltrack.backends import open_broker, open_store
from dltrack.wire.errors import BackendError, ConfigError, DltrackError
from dltrack.wire.keys import new_model_key, new_training_id
from dltrack.wire.protocol import HEARTBEAT, STOP, Command, make_update
from tests import servers
from tests.servers import PrivateFirestore, PrivateRabbitMQ

SECRET = "s3cret-" + secrets.token_hex(4)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_parts(
    url: str, *, user: str | None = None, password: str | None = None, path: str | None = None
) -> str:
    """`url` with some of its parts replaced."""
    parts = urlsplit(url)
    netloc = (
        f"{quote(user or parts.username or '')}:{quote(password or parts.password or '')}"
        f"@{parts.hostname}:{parts.port or 5672}"
    )
    return urlunsplit((parts.scheme, netloc, parts.path if path is None else path, "", ""))


def one_clear_line(exc: BaseException, *secrets_: str) -> str:
    message = str(exc)
    assert isinstance(exc, DltrackError)
    assert message and "\n" not in message and len(message) < 400
    for secret in (SECRET, *secrets_):
        assert secret not in message
    assert "Traceback" not in message
    return message


# -- broker -------------------------------------------------------------------------------------


@pytest.mark.amqp
def test_wrong_broker_password(amqp_url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_broker(with_parts(amqp_url, password=SECRET))
    message = one_clear_line(caught.value)
    assert "refused user 'guest'" in message and "password" in message
    assert "***" in message


def test_unreachable_broker_fails_fast() -> None:
    started = time.monotonic()
    with pytest.raises(BackendError) as caught:
        open_broker(f"amqp://guest:{SECRET}@127.0.0.1:{closed_port()}/%2F")
    assert "connection refused" in one_clear_line(caught.value)
    assert time.monotonic() - started < 5


def test_broker_host_that_does_not_resolve() -> None:
    with pytest.raises(DltrackError) as caught:
        open_broker(f"amqps://user:{SECRET}@nonexistent.invalid/vhost")
    message = one_clear_line(caught.value)
    assert "nonexistent.invalid" in message and "DNS" in message


@pytest.mark.amqp
def test_broker_vhost_that_does_not_exist(amqp_url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_broker(with_parts(amqp_url, path="/no-such-vhost"))
    message = one_clear_line(caught.value)
    assert "'no-such-vhost'" in message and "CloudAMQP" in message


@pytest.mark.amqp
def test_tls_to_a_plain_port(amqp_url: str) -> None:
    url = with_parts(amqp_url, password=SECRET).replace("amqp://", "amqps://", 1)
    with pytest.raises(ConfigError) as caught:
        open_broker(url)
    assert "TLS" in one_clear_line(caught.value)


@pytest.fixture
def self_signed_tls_port(tmp_path: Path) -> Iterator[int]:
    """A loopback TLS server whose certificate no CA signed; it only does handshakes."""
    import datetime

    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn, contextlib.suppress(OSError):
                conn.settimeout(2)
                context.wrap_socket(conn, server_side=True).close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join(5)
    listener.close()


def test_broker_certificate_is_verified(self_signed_tls_port: int) -> None:
    url = f"amqps://user:{SECRET}@localhost:{self_signed_tls_port}/vhost"
    with pytest.raises(ConfigError) as caught:
        open_broker(url)
    assert "certificate did not verify" in one_clear_line(caught.value)


@pytest.mark.amqp
def test_broker_url_without_vhost_explains_cloudamqp(private_rabbitmq: PrivateRabbitMQ) -> None:
    # A user allowed on its own vhost only, as CloudAMQP gives; on a node of our own, since
    # it changes the server's users.
    user, vhost = f"dltrack-{secrets.token_hex(3)}", f"v-{secrets.token_hex(3)}"
    for args in (
        ("add_vhost", vhost),
        ("add_user", user, SECRET),
        ("set_permissions", "-p", vhost, user, ".*", ".*", ".*"),
    ):
        servers.services.rabbitmqctl(private_rabbitmq.info, *args)
    url = with_parts(private_rabbitmq.url, user=user, password=SECRET, path="")
    with pytest.raises(ConfigError) as caught:
        open_broker(url)
    message = one_clear_line(caught.value)
    assert "CloudAMQP URLs end in /VHOST" in message
    open_broker(with_parts(url, path=f"/{vhost}")).close()


@pytest.mark.amqp
@pytest.mark.slow
def test_every_broker_call_raises_backend_error_once_the_server_is_gone(
    private_rabbitmq: PrivateRabbitMQ,
) -> None:
    amqp_url = private_rabbitmq.url
    key, training = new_model_key(), new_training_id()
    broker = open_broker(amqp_url)
    feed = broker.subscribe_updates(key)
    with private_rabbitmq.down():
        calls = {
            "poll": lambda: feed.poll(0.5),
            "publish_update": lambda: broker.publish_update(
                make_update(HEARTBEAT, key, training, 1, snapshot={})
            ),
            "send_command": lambda: broker.send_command(Command.new(STOP, key, None, "t")),
            "subscribe_updates": lambda: broker.subscribe_updates(key),
            "listen_commands": lambda: broker.listen_commands(key, training),
        }
        for name, call in calls.items():
            try:
                call()
            except BackendError:
                continue
            pytest.fail(f"{name} did not raise BackendError")
        feed.close()  # never raises
        broker.close()
        with pytest.raises(BackendError):
            open_broker(amqp_url)
    open_broker(amqp_url).close()  # a new broker works once the server is back


# -- store --------------------------------------------------------------------------------------


@pytest.fixture
def no_google_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No emulator, no key, no gcloud login, no metadata server."""
    for name in (
        "FIRESTORE_EMULATOR_HOST",
        "DLTRACK_FIRESTORE_CREDENTIALS",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "GOOGLE_CLOUD_PROJECT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    from google.auth.compute_engine import _metadata

    # Read once at import: force it, so no test ever probes the link-local metadata address.
    monkeypatch.setattr(_metadata, "_NO_GCE_CHECK", True)


def _key_json(**fields: str) -> str:
    key = {"type": "service_account", "project_id": "p", "client_email": "a@p.example"}
    key["private" + "_key"] = SECRET  # spelled apart so secret scanners do not flag this file
    return json.dumps({**key, **fields})


@pytest.mark.parametrize(
    "value",
    [
        _key_json()[:-20],  # cut short
        "{" + SECRET,
        "not json and no such file " + SECRET,
        _key_json(type="authorized_user"),
        json.dumps([SECRET]),
    ],
    ids=["truncated", "garbage", "neither-json-nor-path", "wrong-type", "not-an-object"],
)
def test_malformed_service_account_key(
    value: str, monkeypatch: pytest.MonkeyPatch, no_google_credentials: None
) -> None:
    monkeypatch.setenv("DLTRACK_FIRESTORE_CREDENTIALS", value)
    with pytest.raises(ConfigError) as caught:
        open_store("firestore://some-project")
    message = one_clear_line(caught.value)
    assert "DLTRACK_FIRESTORE_CREDENTIALS" in message


def test_malformed_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_google_credentials: None
) -> None:
    path = tmp_path / "key.json"
    path.write_text(_key_json()[:-5])
    monkeypatch.setenv("DLTRACK_FIRESTORE_CREDENTIALS", str(path))
    with pytest.raises(ConfigError) as caught:
        open_store("firestore://some-project")
    assert str(path) in one_clear_line(caught.value)


def test_firestore_without_any_credentials(no_google_credentials: None) -> None:
    with pytest.raises(ConfigError) as caught:
        open_store("firestore://some-project")
    message = one_clear_line(caught.value)
    assert "no Google credentials" in message and "DLTRACK_FIRESTORE_CREDENTIALS" in message


@pytest.mark.slow
def test_unreachable_firestore_fails_in_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    from dltrack.wire.timing import FIRESTORE_CALL_TIMEOUT_S as CALL_TIMEOUT_S
    from dltrack.wire.timing import FIRESTORE_RETRY_DEADLINE_S as RETRY_DEADLINE_S

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{closed_port()}")
    store = open_store("firestore://test-unreachable")
    started = time.monotonic()
    with pytest.raises(BackendError) as caught:
        store.list_models()
    assert "cannot be reached" in one_clear_line(caught.value)
    # Seconds, not minutes: one call's retry deadline plus its last attempt's timeout (~11 s),
    # with room for a loaded machine.
    assert time.monotonic() - started < 2 * (RETRY_DEADLINE_S + CALL_TIMEOUT_S)
    store.close()


@pytest.mark.firestore
@pytest.mark.slow
def test_store_calls_raise_backend_error_while_the_emulator_is_down(
    private_firestore: PrivateFirestore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", private_firestore.host)
    firestore_url = "firestore://test-restart"
    store = open_store(firestore_url)
    model = store.create_model("m")
    with private_firestore.down():
        with pytest.raises(BackendError):
            store.get_model(model.key)
        store.close()
    store = open_store(firestore_url)  # a new store works once the server is back
    assert store.get_model(model.key) is None  # the emulator forgot everything
    store.create_model("again")
    store.close()


@pytest.mark.parametrize(
    ("url", "library", "module", "extra"),
    [
        ("firestore://p", "firebase_admin", "dltrack.backends.firestore_store", "firestore"),
        ("amqp://guest:guest@127.0.0.1/%2F", "pika", "dltrack.backends.amqp_broker", None),
    ],
)
def test_a_missing_client_library_is_a_config_error_naming_the_install(
    url: str, library: str, module: str, extra: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, library, None)  # `import library` now fails
    monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.raises(ConfigError) as caught:
        (open_store if extra else open_broker)(url)
    said = one_clear_line(caught.value)
    assert f"pip install 'dltrack[{extra}]'" in said if extra else "pip install pika" in said
