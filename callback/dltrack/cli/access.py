"""`dltrack migrate` and `dltrack share`: who may see and control a model (docs/security.md)."""

from __future__ import annotations

from dltrack.cli.parsing import Subparsers, command
from dltrack.viewing import catalog as api
from dltrack.wire.errors import ConfigError
from dltrack.wire.keys import check_model_key, share_string


def migrate(store: str | None) -> int:
    """Move models an older dltrack filed under their keys to their public ids."""
    with api.open_settings_store(store) as opened:
        moved = opened.migrate_legacy()
    if not moved:
        print("nothing to migrate: every model is filed under its public id")
        return 0
    print(f"moved {len(moved)} model(s) under their public ids; the store no longer holds")
    print("their keys, so keep this list (each key still works everywhere):")
    for model in moved:
        print(f"{model.key}  {model.id}  {model.name}")
    return 0


def share(key: str, read_only: bool) -> int:
    key = check_model_key(key)
    if not read_only:
        raise ConfigError(
            "only read-only shares exist (`dltrack share KEY --read-only`); whoever should "
            "also stop trainings needs the key itself"
        )
    print("watch without control (the key stays with you):")
    print(share_string(key))
    return 0


def add_parser(subparsers: Subparsers) -> None:
    command(subparsers, "migrate", migrate, "move models from an older dltrack to public ids")
    p = command(
        subparsers,
        "share",
        share,
        "print what lets someone watch a model without control",
        location=False,
    )
    p.add_argument("key")
    p.add_argument("--read-only", action="store_true", help="watch only (required)")
