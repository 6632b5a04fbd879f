"""`%dltrack`: the notebook's way in, a thin layer over `TrainingMonitor` and the catalog.

%dltrack                       list the models
%dltrack MODEL_KEY [--broker URL] [--store URL]   show the live monitor
%dltrack MODEL_KEY --follow     ... and keep the cell running, sending updates from it
                                (the default in Colab; --no-follow turns it off)
"""

from __future__ import annotations

import argparse
import html
import shlex
from typing import Any, NoReturn

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.display import display

from dltrack.viewing import catalog as api
from dltrack.wire import config
from dltrack.wire.errors import DltrackError

from .follow import enable_colab_widgets, follow, in_colab


class _Parser(argparse.ArgumentParser):
    """argparse that reports through IPython's UsageError instead of exiting the kernel."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"%dltrack: {message}\n{self.format_usage()}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise UsageError(message or self.format_help())


def _parser() -> _Parser:
    parser = _Parser(prog="%dltrack", description="Watch and stop a model's trainings.")
    parser.add_argument("model_key", nargs="?", help="as printed by `dltrack models create`")
    config.add_location_options(parser)  # as every `dltrack` command spells them
    parser.add_argument(
        "--follow",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="keep the cell running until the training ends (default: only in Colab)",
    )
    return parser


class ModelList:
    """The models, shown as a table in a notebook and as text elsewhere."""

    def __init__(self, models: list[Any]) -> None:
        self.models = models

    def _repr_html_(self) -> str:
        if not self.models:
            return "<p>No models yet: run <code>dltrack models create NAME</code>.</p>"
        rows = "".join(
            f"<tr><td>{html.escape(m.name)}</td><td><code>{html.escape(m.key)}</code></td>"
            f"<td>{m.train_count}</td></tr>"
            for m in self.models
        )
        return f"<table><tr><th>model</th><th>key</th><th>trainings</th></tr>{rows}</table>"

    def __repr__(self) -> str:
        if not self.models:
            return "No models yet: run `dltrack models create NAME`."
        return "\n".join(f"{m.key or m.id}  {m.train_count:>4}  {m.name}" for m in self.models)


def dltrack_line(line: str) -> Any:
    """What `%dltrack LINE` returns (displayed as the cell's result)."""
    try:
        args = _parser().parse_args(shlex.split(line))
    except ValueError as exc:  # unbalanced quotes
        raise UsageError(f"%dltrack: {exc}") from None
    try:
        if args.model_key is None:
            return ModelList(api.list_models(store=args.store))
        try:
            from .widget import TrainingMonitor
        except ModuleNotFoundError:  # the magic loads without them; the monitor cannot
            raise UsageError(
                "%dltrack: the monitor needs anywidget and ipywidgets: "
                "pip install 'dltrack[widget]'"
            ) from None
        colab = in_colab()
        if colab:
            enable_colab_widgets()
        monitor = TrainingMonitor(args.model_key, broker=args.broker, store=args.store)
        if colab:
            monitor.background_sends = False  # Colab would not draw them anyway
    except DltrackError as exc:
        raise UsageError(f"%dltrack: {exc}") from None
    if not (colab if args.follow is None else args.follow):
        return monitor
    display(monitor)  # type: ignore[no-untyped-call]  # IPython has no annotations here
    follow(monitor)
    return None


@magics_class
class DltrackMagics(Magics):
    @line_magic
    def dltrack(self, line: str) -> Any:
        """Show a model's trainings live: %dltrack MODEL_KEY [--broker URL] [--store URL]."""
        return dltrack_line(line)


def register(ipython: Any) -> None:
    ipython.register_magics(DltrackMagics)
