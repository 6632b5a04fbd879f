"""`TrainingMonitor`: an anywidget that shows a model's trainings live, with a Stop button.

The class only wires a `Watcher` to two synced traits; everything it shows comes from the
Watcher's snapshot (docs/widget-state.md), and the front end lives in js/.
"""

from __future__ import annotations

import threading
from typing import Any

import anywidget
import traitlets

from dltrack.viewing.watcher import Watcher, default_sender

from ._assets import bundle
from ._messages import apply_front_end_message
from ._payload import history_signature, split_snapshot
from ._static_output import StaticOutput
from ._subshell import INTERRUPT, confirm_route, route_to_subshell
from ._ui_state import clean_ui_state


class TrainingMonitor(anywidget.AnyWidget):
    """Live bars, history and a Stop button for every training of one model.

    Args:
        model_key: The model to show: its key, or a read-only share (no controls shown).
        broker: Broker URL. Defaults to `DLTRACK_BROKER_URL`, else the local default.
        store: Store URL. Defaults to `DLTRACK_STORE_URL`, else the local default.

    Example:

    ```python
    from dltrack_widget import TrainingMonitor
    TrainingMonitor("Jx3…your key…")
    ```
    """

    # The front end's text, read when a monitor is made (so a missing build is a clear error,
    # not an import error). Declared here because anywidget only turns class attributes into
    # synced traits: a `_css` passed to __init__ alone would never reach the browser.
    _esm = traitlets.Unicode().tag(sync=True)
    _css = traitlets.Unicode().tag(sync=True)
    # The public model id, never the key: synced traits are saved into the notebook.
    # (`model_id` is taken: ipywidgets names the comm by it.)
    public_id = traitlets.Unicode().tag(sync=True)
    # False for a read-only share: the front end then shows no controls (stop, rename, delete).
    can_control = traitlets.Bool(True).tag(sync=True)
    # Both are saved into the .ipynb with the widget: they must never hold a secret (URLs are
    # masked). `state` is the Watcher's snapshot minus finished trainings' epochs, which sit
    # in `history` (docs/widget-state.md).
    state = traitlets.Dict().tag(sync=True)
    history = traitlets.Dict().tag(sync=True)
    # "subshell": a click reaches the kernel while another cell runs (e.g. `fit()` below);
    # "interrupt": it waits for that cell, so the front end suggests ■ (_subshell.py).
    stop_route = traitlets.Unicode(INTERRUPT).tag(sync=True)
    # The viewer's choices (tab, selection, comparison, chart axis, height), written by the
    # front end so a reload restores them; only ids and short names (_ui_state.py).
    ui_state = traitlets.Dict().tag(sync=True)

    # Colab renders no comm message sent from a background thread (googlecolab/colabtools#3373).
    # False holds back every message from a thread other than the main one; the main thread's
    # `flush()` (the `%dltrack --follow` loop) then sends the newest state. The magic sets it
    # in Colab; a test sets it in JupyterLab to show what Colab does.
    background_sends = True
    _held = False

    @traitlets.validate("ui_state")
    def _valid_ui_state(self, proposal: Any) -> dict[str, Any]:
        return clean_ui_state(proposal["value"])

    def __init__(
        self, model_key: str, *, broker: str | None = None, store: str | None = None, **kwargs: Any
    ) -> None:
        watcher = Watcher(
            model_key, broker=broker, store=store, sender=default_sender("notebook widget")
        ).start()
        state, history = split_snapshot(watcher.snapshot())
        self._history_signature = history_signature(history)
        self._static = StaticOutput()
        try:
            super().__init__(
                _esm=bundle("widget.js").read_text(encoding="utf-8"),
                _css=bundle("widget.css").read_text(encoding="utf-8"),
                public_id=watcher.model_id,
                can_control=watcher.can_control,
                state=state,
                history=history,
                **kwargs,
            )
        except BaseException:
            watcher.close()
            raise
        self.watcher = watcher
        self.stop_route = route_to_subshell(self.comm)
        watcher.add_listener(self._show)
        self.on_msg(self._on_front_end_message)

    @property
    def model_key(self) -> str | None:
        """The key of the model shown; None for a read-only share (it never reaches the front
        end, which shows `public_id`)."""
        return self.watcher.model_key

    def _ipython_display_(self, **kwargs: Any) -> None:
        """The widget, then its static snapshot for when the kernel is gone (static_view.py)."""
        from IPython.display import display

        bundle = self._repr_mimebundle_(**kwargs)
        if bundle is None:
            return
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        display(data, metadata=metadata, raw=True)  # type: ignore[no-untyped-call]
        self._static.display(self.watcher.snapshot())

    def _show(self, snapshot: dict[str, Any]) -> None:
        state, history = split_snapshot(snapshot)
        signature = history_signature(history)
        with self.hold_sync():  # one comm message for both traits
            if signature != self._history_signature:
                self._history_signature = signature
                self.history = history
            self.state = state
        # After the traits: a failing display (a closing kernel) must not hold the widget back.
        self._static.update(snapshot)

    def _on_front_end_message(self, _: Any, content: Any, buffers: Any) -> None:
        self.stop_route = confirm_route(self.stop_route)
        apply_front_end_message(self.watcher, content)

    def _send(self, msg: Any, buffers: Any = None) -> None:
        if self.background_sends or threading.current_thread() is threading.main_thread():
            super()._send(msg, buffers)
        else:
            self._held = True

    def flush(self) -> None:
        """Send the current state if an update from another thread was held back."""
        if self._held:
            self._held = False
            self.send_state(["state", "history", "stop_route"])

    def close(self) -> None:
        watcher = getattr(self, "watcher", None)
        if watcher is not None:
            watcher.close()
        super().close()
