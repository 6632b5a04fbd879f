"""What every `dltrack` command shares: one-line usage errors, the common options, the number
types, and the call of a command function with plain parameters.

A command module registers itself with `add_parser(subparsers)`, which adds its commands with
`command(...)`; `dltrack.cli.commands.COMMAND_MODULES` lists the modules.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from dltrack.wire import config

EXIT_USAGE = 2
Subparsers = Any  # argparse's _SubParsersAction, private in typeshed


class Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line, like every other dltrack error."""

    def error(self, message: str) -> NoReturn:
        usage = " ".join(self.format_usage().split())
        print(f"dltrack: error: {message} ({usage})", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def command(
    subparsers: Subparsers,
    name: str,
    func: Callable[..., int],
    help: str,
    *,
    json: bool = False,
    location: bool = True,
) -> Parser:
    """Add the command `name` that runs `func`; its parameters are named as the options' dests."""
    parser: Parser = subparsers.add_parser(name, help=help, description=help)
    if location:
        config.add_location_options(parser)
    if json:
        parser.add_argument(
            "--json", dest="as_json", action="store_true", help="machine-readable output"
        )
    parser.set_defaults(func=func, parser=parser)
    return parser


def group(subparsers: Subparsers, name: str, help: str) -> Subparsers:
    """A command with actions of its own (`dltrack models create`)."""
    parser = subparsers.add_parser(name, help=help, description=help)
    return parser.add_subparsers(dest=f"{name}_action", required=True, metavar="ACTION")


def call(args: argparse.Namespace) -> int:
    """Run the chosen command function with the parsed values it names, as plain arguments."""
    func: Callable[..., int] = args.func
    names = inspect.signature(func).parameters
    return int(func(**{name: getattr(args, name) for name in names if hasattr(args, name)}))


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number above 0")
    return int(text)
