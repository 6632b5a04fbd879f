"""`dltrack sync`: write what a training left in its spool (the store was down) to the store."""

from __future__ import annotations

from pathlib import Path

from dltrack.cli.parsing import Subparsers, command
from dltrack.training.sync import sync_spool


def sync(store: str | None, export: Path | None, discard: bool) -> int:
    from dltrack.cli.control import report_sync

    return report_sync(sync_spool(store=store, export=export, discard=discard))


def add_parser(subparsers: Subparsers) -> None:
    p = command(subparsers, "sync", sync, "write spooled records to the store")
    p.add_argument(
        "--export",
        type=Path,
        metavar="FILE",
        help="write the records the store cannot take to FILE (JSON lines)",
    )
    p.add_argument("--discard", action="store_true", help="drop the records the store cannot take")
