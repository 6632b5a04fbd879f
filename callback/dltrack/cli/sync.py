"""`dltrack sync`: write what a training left in its spool (the store was down) to the store."""

from __future__ import annotations

from dltrack.cli.parsing import Subparsers, command
from dltrack.training.sync import sync_spool


def sync(store: str | None) -> int:
    written, left = sync_spool(store=store)
    print(f"wrote {written} spooled record(s) to the store; {left} left")
    return 0 if left == 0 else 1


def add_parser(subparsers: Subparsers) -> None:
    command(subparsers, "sync", sync, "write spooled records to the store")
