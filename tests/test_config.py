"""Where the broker and store live, URL validation, and that no password is ever shown."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dltrack.backends import open_store
from dltrack.wire import config
from dltrack.wire.errors import ConfigError


def test_default_is_one_sqlite_file_under_dltrack_home(dltrack_home: Path) -> None:
    s = config.resolve()
    assert s.broker_url == s.store_url
    assert config.sqlite_path(s.store_url) == dltrack_home / config.DEFAULT_DB_NAME
    assert s.home == dltrack_home
    assert s.spool_dir == dltrack_home / "spool"


def test_default_home_is_in_the_users_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DLTRACK_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config.resolve().home == tmp_path / ".dltrack"


def test_relative_home_is_relative_to_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DLTRACK_HOME", "rel/home")
    s = config.resolve()
    assert config.sqlite_path(s.store_url) == tmp_path / "rel" / "home" / "dltrack.db"
    open_store(s.store_url).close()
    assert (tmp_path / "rel" / "home" / "dltrack.db").exists()


def test_home_with_url_characters_in_its_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = tmp_path / "runs #3 ?final"
    monkeypatch.setenv("DLTRACK_HOME", str(home))
    s = config.resolve()
    store = open_store(s.store_url)
    model = store.create_model("m")
    store.close()
    assert (home / "dltrack.db").exists()
    store = open_store(config.resolve().store_url)
    assert store.get_model(model.key) is not None
    store.close()


def test_environment_then_arguments_win(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_db = f"sqlite://{tmp_path}/env.db"
    arg_db = f"sqlite://{tmp_path}/arg.db"
    monkeypatch.setenv("DLTRACK_BROKER_URL", "amqp://guest:guest@localhost:5672/")
    monkeypatch.setenv("DLTRACK_STORE_URL", env_db)
    s = config.resolve()
    assert s.broker_url == "amqp://guest:guest@localhost:5672/"
    assert s.store_url == env_db
    s = config.resolve(broker=arg_db, store=arg_db)
    assert (s.broker_url, s.store_url) == (arg_db, arg_db)


@pytest.mark.parametrize(
    "broker",
    [
        "sqlite:///tmp/x.db",
        "amqp://localhost",
        "amqp://guest:guest@localhost:5672/",
        "amqps://user:pw@host.example.com/vhost",
        "amqp://user:pa%2Fss@[::1]:5672/%2F",
    ],
)
def test_valid_broker_urls(broker: str) -> None:
    config.check_url(broker, config.BROKER_SCHEMES, "broker")


@pytest.mark.parametrize(
    "store", ["sqlite:///tmp/x.db", "firestore://my-project", "firestore://my-project/"]
)
def test_valid_store_urls(store: str) -> None:
    config.check_url(store, config.STORE_SCHEMES, "store")


@pytest.mark.parametrize(
    "url, role, says",
    [
        ("bogus://x", "broker", "must start with one of"),
        ("http://host", "broker", "must start with one of"),
        ("firestore://p", "broker", "must start with one of"),
        ("amqp://host", "store", "must start with one of"),
        ("", "store", "must start with one of"),
        ("just words", "store", "must start with one of"),
        ("sqlite://relative.db", "store", "sqlite:///absolute/path.db"),
        ("sqlite://", "store", "sqlite:///absolute/path.db"),
        ("amqp://", "broker", "has no host"),
        ("amqp:///vhost", "broker", "has no host"),
        ("amqp://user:pw@host:notaport/", "broker", "invalid port"),
        ("amqp://user:pw@host:99999/", "broker", "invalid port"),
        ("amqp://user:pw@[::1/", "broker", "malformed"),
        ("firestore://", "store", "firestore://PROJECT_ID"),
        ("firestore://p/collection/doc", "store", "firestore://PROJECT_ID"),
    ],
)
def test_malformed_urls_say_what_is_wrong(url: str, role: str, says: str) -> None:
    schemes = config.BROKER_SCHEMES if role == "broker" else config.STORE_SCHEMES
    with pytest.raises(ConfigError, match=None) as error:
        config.check_url(url, schemes, role)
    message = str(error.value)
    assert says in message
    assert role in message
    assert "pw" not in message
    assert "\n" not in message


def test_resolve_validates_both(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="broker"):
        config.resolve(broker="bogus://x")
    monkeypatch.setenv("DLTRACK_STORE_URL", "amqp://host")
    with pytest.raises(ConfigError, match="store"):
        config.resolve()


# -- mask_url ---------------------------------------------------------------------------------

SECRET = "S3cr3tPa55"


@pytest.mark.parametrize(
    "url",
    [
        f"amqp://user:{SECRET}@host/vhost",
        f"amqps://user:{SECRET}@host:5671/vhost?heartbeat=30",
        f"amqp://:{SECRET}@host/",
        f"amqp://user:{SECRET}@[::1]:5672/",
        f"amqp://user:{SECRET}@host:notaport/",  # unparseable port
        f"amqp://user:{SECRET}@[::1/",  # unparseable host
        f"amqp://user:{SECRET}/x@host/vhost",  # unencoded '/' in the password
        f"amqp://user:{SECRET}?x@host/vhost",  # unencoded '?'
        f"amqp://user:{SECRET}#x@host/vhost",  # unencoded '#'
        f"amqp://user:a@b{SECRET}@host/vhost",  # unencoded '@'
        f"amqp://user:{SECRET}@host/vhost#fragment",
        f"AMQPS://user:{SECRET}@HOST/vhost",
        f"amqp://user:{quote(SECRET + '/:@')}@host/vhost",
        f"firestore://user:{SECRET}@project",
        f"bogus://user:{SECRET}@x",
    ],
)
def test_mask_url_never_shows_the_password(url: str) -> None:
    masked = config.mask_url(url)
    assert SECRET not in masked
    assert "***" in masked


def test_mask_url_keeps_what_helps() -> None:
    assert config.mask_url("amqps://ana:pw@rabbit.example.com:5671/ana") == (
        "amqps://ana:***@rabbit.example.com:5671/ana"
    )
    assert config.mask_url("amqp://localhost/") == "amqp://localhost/"
    assert config.mask_url("sqlite:///home/ana/.dltrack/dltrack.db") == (
        "sqlite:///home/ana/.dltrack/dltrack.db"
    )
    assert config.mask_url("firestore://my-project") == "firestore://my-project"


@settings(max_examples=300, deadline=None)
@given(
    password=st.text(
        alphabet=st.characters(codec="ascii", exclude_characters="\x00"), min_size=1, max_size=20
    ),
    user=st.text(alphabet="abcxyz_-.", max_size=8),
    tail=st.sampled_from(["host/vhost", "host:5672/v", "[::1]:5672/", "h", "host:x/"]),
    scheme=st.sampled_from(["amqp", "amqps", "sqlite", "firestore", "x"]),
)
def test_mask_url_fuzz(password: str, user: str, tail: str, scheme: str) -> None:
    sentinel = f"Q{password}Z"  # never a substring of the rest by accident
    url = f"{scheme}://{user}:{sentinel}@{tail}"
    assert sentinel not in config.mask_url(url)
    try:
        config.check_url(url, config.BROKER_SCHEMES, "broker")
    except ConfigError as error:
        assert sentinel not in str(error)
