"""Let the Stop button reach a kernel that is busy running `fit()` (scenario S3).

Scenario S3 of docs/architecture.md: the widget above a cell that trains.

A click travels to the kernel as a comm message on the shell channel. When the same kernel is
running `model.fit(...)` in a later cell, the main shell is busy and a plain comm handler only
runs after the training ended. The routes, best first:

1. **subshell** — ipykernel ≥ 7 runs a *shell channel thread* that receives every shell message
   and forwards it to the main shell or to a *subshell* (a thread with its own event loop,
   JEP 91). Since 7.4 it asks each comm where its messages go (`comm._reply_subshell_for`);
   by default a comm answers "where I last published from", which for a widget updated by a
   background thread is the busy main shell, even when JupyterLab ≥ 4.4 sent the click over
   its own comm subshell. We create one subshell per kernel and pin the widget's comm to it,
   so front-end messages are handled on that thread while a cell runs, whatever the front end
   (JupyterLab, Notebook 7, VS Code: none needs to know about subshells).
2. **the front end's subshell** — on ipykernel 7.0 to 7.3 (no per-comm routing) JupyterLab
   ≥ 4.4 sends comm messages over a subshell of its own by default (`commsOverSubshells`),
   which the kernel honours. We cannot see that from here until a message arrives, so
   `confirm_route` upgrades the route when one is handled off the main thread.
3. **interrupt** — otherwise (ipykernel 6, a front end without subshells, a kernel that is not
   ipykernel) the click waits for the cell; the front end tells the user to press ■, which the
   Tracker turns into a graceful stop after the current batch.

Both the subshell creation and the pin use ipykernel internals, so every step is
feature-detected and wrapped: a changed ipykernel gives route 3, never an error. Not used:
jupyter-ui-poll (broken on ipykernel 7.4) and pumping the kernel from a Keras callback (it
would put kernel work on the training thread, against invariant 1).
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("dltrack")

SUBSHELL = "subshell"  # front-end messages are handled while a cell runs
INTERRUPT = "interrupt"  # they wait for the running cell: stop with ■ (SIGINT)

CREATE_TIMEOUT_S = 5.0

_lock = threading.Lock()
_subshells: dict[int, str] = {}  # id(kernel) → the subshell we created in it


def route_to_subshell(comm: Any) -> str:
    """Pin `comm`'s incoming messages to a subshell this module owns; the resulting route."""
    try:
        kernel = _running_kernel()
        if kernel is None or not callable(getattr(comm, "_reply_subshell_for", None)):
            return INTERRUPT
        manager = kernel.shell_channel_thread.manager
        subshell_id = _kernel_subshell(kernel, manager)
        if subshell_id is None:
            return INTERRUPT
        comm._reply_subshell_for = _pinned(manager, subshell_id, comm._reply_subshell_for)
        return SUBSHELL
    except Exception:  # an ipykernel we do not know: the slow route still works
        log.debug("dltrack: no kernel subshell for the widget", exc_info=True)
        return INTERRUPT


def confirm_route(current: str) -> str:
    """The route proven by a front-end message being handled right now, on this thread.

    The kernel's main shell runs on the main thread; a message handled anywhere else arrived
    through a subshell (ours or the front end's), so it would also arrive during `fit()`.
    """
    if threading.current_thread() is not threading.main_thread():
        return SUBSHELL
    if current == SUBSHELL and _running_kernel() is not None:
        log.debug("dltrack: widget messages reach the main shell; Stop waits for running cells")
        return INTERRUPT
    return current


def _running_kernel() -> Any:
    """The ipykernel kernel of this process when it can route shell messages to subshells."""
    try:
        from ipykernel.kernelbase import Kernel
    except ImportError:
        return None
    if not Kernel.initialized():
        return None
    kernel = Kernel.instance()
    if getattr(kernel, "shell_channel_thread", None) is None:
        return None  # ipykernel < 7, or subshells switched off
    return kernel


def _kernel_subshell(kernel: Any, manager: Any) -> str | None:
    with _lock:
        subshell_id = _subshells.get(id(kernel))
        if subshell_id is not None and subshell_id in manager.list_subshell():
            return subshell_id
        subshell_id = _create_subshell(kernel.shell_channel_thread, manager)
        if subshell_id is not None:
            _subshells[id(kernel)] = subshell_id
        return subshell_id


def _create_subshell(channel_thread: Any, manager: Any) -> str | None:
    """Create a subshell as a `create_subshell_request` would, on the thread that owns them."""
    create = manager._create_subshell
    if threading.current_thread() is channel_thread:
        return str(create())
    result: concurrent.futures.Future[str] = concurrent.futures.Future()

    def run() -> None:
        try:
            result.set_result(create())
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            result.set_exception(exc)

    channel_thread.io_loop.add_callback(run)
    try:
        return str(result.result(timeout=CREATE_TIMEOUT_S))
    except concurrent.futures.TimeoutError:
        log.debug("dltrack: the kernel did not create a subshell in %ss", CREATE_TIMEOUT_S)
        return None


def _pinned(
    manager: Any, subshell_id: str, original: Callable[[Any, Any], Any]
) -> Callable[[Any, Any], Any]:
    """`comm._reply_subshell_for` that always answers our subshell while it exists.

    The kernel calls it on its shell channel thread for every comm_msg/comm_close; an exception
    there would drop the message, so it never raises.
    """

    def reply_subshell_for(data: Any, default: Any) -> Any:
        try:
            if subshell_id in manager.list_subshell():
                return subshell_id
            return original(data, default)
        except Exception:  # noqa: BLE001 - see the docstring
            return default

    return reply_subshell_for
