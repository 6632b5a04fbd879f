"""The `dltrack` command: `models`, `trainings`, `watch`, `stop`, `demo`, `doctor`, `sync`,
`grant`, `migrate`, `share`.

Each module in `COMMAND_MODULES` adds its commands with `add_parser(subparsers)`; a new
command is one module and one line here. Every command resolves its broker and store like
the Tracker does (arguments, then the environment, then the local default). A user mistake
prints one line and exits non-zero.
"""

from __future__ import annotations

import argparse
import sys

from dltrack.cli import access, control, demo, doctor, grant, live, models, serve, sync, trainings
from dltrack.cli.parsing import EXIT_USAGE, Parser, call
from dltrack.wire import config
from dltrack.wire.errors import ConfigError, DltrackError, UnknownModelError

EXIT_FAILED = 1
COMMAND_MODULES = (models, trainings, live, control, serve, demo, doctor, sync, grant, access)

# Spellings of the release before, still understood for one release (see the README).
TRAININGS_ACTIONS = ("list", "show", "delete")
OPTIONS_WITH_VALUES = ("--broker", "--store")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="dltrack", description="Watch and stop Keras trainings, from any machine.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_parser(subparsers)
    return parser


def _first_word(words: list[str]) -> int | None:
    """The index of the first positional word, options and their values skipped."""
    i = 0
    while i < len(words):
        if words[i] in OPTIONS_WITH_VALUES:
            i += 2
        elif words[i].startswith("-"):
            i += 1
        else:
            return i
    return None


def modern_spelling(argv: list[str]) -> list[str]:
    """`trainings KEY` and `show KEY N` as `trainings list KEY` and `trainings show KEY N`,
    with a one-line notice on stderr."""
    if argv[:1] == ["show"]:
        new = ["trainings", "show", *argv[1:]]
        old, now = "dltrack show KEY TRAINING", "dltrack trainings show KEY TRAINING"
    elif argv[:1] == ["trainings"]:
        at = _first_word(argv[1:])
        if at is None or argv[1 + at] in TRAININGS_ACTIONS or "-h" in argv or "--help" in argv:
            return argv
        new = ["trainings", "list", *argv[1:]]
        old, now = "dltrack trainings KEY", "dltrack trainings list KEY"
    else:
        return argv
    print(
        f"dltrack: note: `{old}` is now `{now}`; the old spelling goes in the next release",
        file=sys.stderr,
    )
    return new


def main(argv: list[str] | None = None) -> int:
    words = modern_spelling(list(sys.argv[1:] if argv is None else argv))
    args, extra = build_parser().parse_known_args(words)
    if extra:  # told by the command's own parser, whose usage says what it takes
        args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        if hasattr(args, "store"):
            # Validate both URLs up front, also for commands that use only the store: a
            # malformed --broker must not pass silently.
            config.resolve(getattr(args, "broker", None), args.store)
        return call(args)
    except DltrackError as exc:
        print(f"dltrack: error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, (ConfigError, UnknownModelError)) else EXIT_FAILED
    except KeyboardInterrupt:
        return 130
