"""The notebook side of dltrack: the `TrainingMonitor` widget and the `%dltrack` magic."""

from .widget import TrainingMonitor

__all__ = ["TrainingMonitor"]
