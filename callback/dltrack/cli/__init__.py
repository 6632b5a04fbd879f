"""The `dltrack` command line: the top layer, which may use every other one."""

from dltrack.cli.commands import main

__all__ = ["main"]
