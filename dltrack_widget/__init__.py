"""The viewing front ends of dltrack: the `TrainingMonitor` widget, the `%dltrack` magic and
the `dltrack serve` page.

`TrainingMonitor` is imported on first use, so that `dltrack serve` (which needs neither
anywidget nor ipywidgets) can live in this package without them.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .widget import TrainingMonitor

__all__ = ["TrainingMonitor"]


def __getattr__(name: str) -> Any:
    if name == "TrainingMonitor":
        from .widget import TrainingMonitor

        return TrainingMonitor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
