"""The static snapshot's output (static_view.py): displayed under the widget, then kept up to
date with `update_display` from the Watcher's thread.

ipykernel routes an output message to the cell named in its parent header. The Watcher's
thread has none of its own, so each update carries the header of the cell that displayed the
monitor: JupyterLab and Notebook 7 deliver it to that cell's output area, which replaces the
output with the same display id (and the notebook file keeps the replacement).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from typing import Any

from . import static_view


def _display_pub() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # not in IPython: nothing to display into
        return None
    shell = get_ipython()
    return getattr(shell, "display_pub", None)


class StaticOutput:
    """One static snapshot output per monitor (shown again when the monitor is)."""

    def __init__(self) -> None:
        self.display_id = f"dltrack-static-{uuid.uuid4().hex}"
        self._lock = threading.Lock()
        self._displayed = False
        self._parent: dict[str, Any] | None = None
        self._signature: tuple[Any, ...] | None = None

    def display(self, snapshot: Mapping[str, Any]) -> None:
        """Show the snapshot below the widget (from the cell displaying the monitor)."""
        from IPython.display import display

        with self._lock:
            self._signature = static_view.signature(snapshot)
            pub = _display_pub()
            self._parent = dict(getattr(pub, "parent_header", None) or {}) or None
            self._displayed = True
            html = static_view.render(snapshot)
        # IPython ships no types for display(); the call is as documented.
        display({"text/html": html}, raw=True, display_id=self.display_id)  # type: ignore[no-untyped-call]

    def update(self, snapshot: Mapping[str, Any]) -> None:
        """Replace the shown snapshot when what it shows changed; from any thread."""
        from IPython.display import update_display

        with self._lock:
            signature = static_view.signature(snapshot)
            if not self._displayed or signature == self._signature:
                return
            self._signature = signature
            html = static_view.render(snapshot)
            pub = _display_pub()
            set_parent = getattr(pub, "set_thread_parent", None)
            token = set_parent(self._parent) if set_parent and self._parent else None
            try:
                update_display(  # type: ignore[no-untyped-call]
                    {"text/html": html}, raw=True, display_id=self.display_id
                )
            finally:
                if token is not None:
                    pub.reset_thread_parent(token)
