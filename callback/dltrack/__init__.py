"""dltrack: watch a Keras training live from any notebook or terminal, and stop it.

`from dltrack import Tracker` needs Keras; nothing here imports Keras, pika, firebase-admin or
the widget packages until it is used, so the training side installs light.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from dltrack.wire.errors import DltrackError, DltrackWarning, MissingDependencyError

try:
    __version__ = version("dltrack")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

if TYPE_CHECKING:
    from dltrack.training.secrets import use_secrets
    from dltrack.training.tracker import Tracker
    from dltrack.viewing.catalog import create_model, history, list_models
    from dltrack.viewing.watcher import Watcher

__all__ = [
    "DltrackError",
    "DltrackWarning",
    "Tracker",
    "Watcher",
    "create_model",
    "history",
    "list_models",
    "load_ipython_extension",
    "use_secrets",
]

_LAZY = {
    "Tracker": "training.tracker",
    "Watcher": "viewing.watcher",
    "create_model": "viewing.catalog",
    "list_models": "viewing.catalog",
    "history": "viewing.catalog",
    "use_secrets": "training.secrets",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        try:
            module = importlib.import_module(f".{_LAZY[name]}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != "keras":
                raise
            # A training box without Keras: say what to install, not a bare import error.
            raise MissingDependencyError(
                "dltrack.Tracker is a Keras callback and needs Keras 3: pip install tensorflow "
                "(Kaggle and Colab have it), or keras with another backend"
            ) from None
        return getattr(module, name)
    raise AttributeError(f"module 'dltrack' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext dltrack`: register the `%dltrack` magic (needs the widget extra)."""
    try:
        from dltrack_widget.magics import register
    except ImportError as exc:
        raise ImportError(
            "the dltrack widget needs its extra: pip install 'dltrack[widget]'"
        ) from exc
    register(ipython)
