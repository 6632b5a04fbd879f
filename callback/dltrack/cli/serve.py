"""`dltrack serve KEY…`: the live monitor as a web page (dltrack_widget.serve, docs/serve.md).

The server lives with the widget, whose front end it serves; it is imported only when the
command runs, so the CLI works without the `serve` extra.
"""

from __future__ import annotations

import argparse

from dltrack.cli.parsing import Subparsers, command
from dltrack.wire.errors import MissingDependencyError


def serve(
    keys: list[str],
    host: str,
    port: int,
    allow_control: bool,
    broker: str | None,
    store: str | None,
) -> int:
    try:
        from dltrack_widget.serve import serve as run_server
    except ModuleNotFoundError:
        raise MissingDependencyError(
            "dltrack serve needs starlette, uvicorn, websockets and segno: "
            "pip install 'dltrack[serve]'"
        ) from None
    run_server(keys, host=host, port=port, allow_control=allow_control, broker=broker, store=store)
    return 0


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0 to 65535)")
    return int(text)


def add_parser(subparsers: Subparsers) -> None:
    p = command(subparsers, "serve", serve, "the live monitor as a web page (phone)")
    p.add_argument("keys", nargs="+", metavar="KEY")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: network)")
    p.add_argument("--port", type=_port, default=8760, help="port (default 8760; 0: any free)")
    p.add_argument("--allow-control", action="store_true", help="let the page stop trainings")
