"""Where the broker and the store live: resolved from arguments, then the environment, then the
embedded default (one SQLite file under DLTRACK_HOME).

The Tracker, the Watcher, the widget, the magic and the CLI all resolve settings here, so one
configuration reaches every entry point the same way. A training token (`DLTRACK_TRAINING_TOKEN`)
supplies the URLs that are not set otherwise.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from dltrack.wire import training_token
from dltrack.wire.errors import ConfigError

BROKER_SCHEMES = ("amqp", "amqps", "sqlite")
STORE_SCHEMES = ("firestore", "sqlite")
DEFAULT_DB_NAME = "dltrack.db"


@dataclass(frozen=True)
class Settings:
    """Resolved, validated locations of the broker and the store."""

    broker_url: str
    store_url: str
    home: Path

    @property
    def spool_dir(self) -> Path:
        return self.home / "spool"

    def __repr__(self) -> str:
        # Shown wherever a notebook displays it (`watcher.settings`): URLs masked.
        return (
            f"Settings(broker_url={mask_url(self.broker_url)!r}, "
            f"store_url={mask_url(self.store_url)!r}, home={self.home!r})"
        )


def dltrack_home() -> Path:
    # Absolute: the default URL below is `sqlite://` + this path, and a relative path there
    # would be read as one under the root directory.
    home = Path(os.environ.get("DLTRACK_HOME") or Path.home() / ".dltrack")
    return home.expanduser().absolute()


def resolve(broker: str | None = None, store: str | None = None) -> Settings:
    """Resolve and validate the broker and store URLs; raise `ConfigError` when malformed."""
    home = dltrack_home()
    default = f"sqlite://{home / DEFAULT_DB_NAME}"
    # A training box may hold only `DLTRACK_TRAINING_TOKEN` (`dltrack grant`): its URLs come
    # after explicit settings, before the embedded default.
    token = training_token.from_env()
    broker_url = (
        broker or os.environ.get("DLTRACK_BROKER_URL") or (token and token.broker_url) or default
    )
    store_url = (
        store or os.environ.get("DLTRACK_STORE_URL") or (token and token.store_url) or default
    )
    check_url(broker_url, BROKER_SCHEMES, "broker")
    check_url(store_url, STORE_SCHEMES, "store")
    return Settings(broker_url=broker_url, store_url=store_url, home=home)


def check_url(url: str, schemes: tuple[str, ...], role: str) -> None:
    shown = mask_url(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ConfigError(f"malformed {role} URL {shown!r}") from None
    if parts.scheme not in schemes:
        wanted = ", ".join(f"{s}://" for s in schemes)
        raise ConfigError(f"{role} URL {shown!r} must start with one of {wanted}")
    if parts.scheme == "sqlite":
        if not parts.path or parts.netloc:
            raise ConfigError(f"{role} URL {shown!r} must look like sqlite:///absolute/path.db")
    elif parts.scheme in ("amqp", "amqps"):
        if not parts.hostname:
            raise ConfigError(f"{role} URL {shown!r} has no host: use amqp://user:pass@host/vhost")
        try:
            parts.port  # noqa: B018 - raises ValueError on a non-numeric port
        except ValueError:
            raise ConfigError(f"{role} URL {shown!r} has an invalid port") from None
    elif parts.scheme == "firestore" and (not parts.netloc or parts.path not in ("", "/")):
        raise ConfigError(f"{role} URL {shown!r} must look like firestore://PROJECT_ID")


def sqlite_path(url: str) -> Path:
    """The file path of a `sqlite:///path` URL."""
    # Everything after `sqlite://`, verbatim: a '#' or '?' in a directory name is part of the
    # path here, not a fragment or a query.
    return Path(url.split("://", 1)[1])


def mask_url(url: str) -> str:
    """`url` with any password replaced by `***`, safe to show, log or store."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return _mask_raw_userinfo(url)
        user = parts.username or ""
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, ""))
    except ValueError:
        # Unparseable: show only the scheme, since the rest may hold a secret.
        return url.split(":", 1)[0] + "://***"


def _mask_raw_userinfo(url: str) -> str:
    """Hide a password that urlsplit does not see: an unencoded '/', '?' or '#' in it ends
    the authority early (`amqp://user:pa/ss@host`), leaving the password in the path."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if sep and at and ":" in userinfo:
        return f"{scheme}://***@{host}"
    return url


def add_location_options(parser: argparse.ArgumentParser) -> None:
    """`--broker URL` and `--store URL`, for the CLI's commands and the `%dltrack` magic alike:
    one spelling and one help text wherever a user names the two."""
    parser.add_argument("--broker", help="broker URL (default: DLTRACK_BROKER_URL or local)")
    parser.add_argument("--store", help="store URL (default: DLTRACK_STORE_URL or local)")
