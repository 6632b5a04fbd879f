"""dltrack_widget/_subshell.py: the Stop route around a kernel busy in `fit()` (S3).

The kernel tests start a real ipykernel and talk to it as a front end does (jupyter_client):
a click is a comm_msg on the shell channel, sent while another cell runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from dltrack_widget import _subshell
from dltrack_widget._subshell import INTERRUPT, SUBSHELL, confirm_route, route_to_subshell

# -- outside a kernel -------------------------------------------------------------------------


def test_outside_a_kernel_the_route_is_the_interrupt() -> None:
    class Comm:
        def _reply_subshell_for(self, data: Any, default: Any) -> Any:
            return default

    assert route_to_subshell(Comm()) == INTERRUPT
    assert route_to_subshell(object()) == INTERRUPT


def test_a_message_handled_off_the_main_thread_proves_the_subshell_route() -> None:
    routes: list[str] = []
    thread = threading.Thread(target=lambda: routes.append(confirm_route(INTERRUPT)))
    thread.start()
    thread.join()
    assert routes == [SUBSHELL]
    assert confirm_route(INTERRUPT) == INTERRUPT  # main thread, no kernel: nothing learnt
    assert confirm_route(SUBSHELL) == SUBSHELL


def test_the_pinned_route_never_raises_and_lets_go_of_a_deleted_subshell() -> None:
    class Manager:
        def __init__(self) -> None:
            self.subshells = ["ours"]

        def list_subshell(self) -> list[str]:
            return list(self.subshells)

    manager = Manager()
    pinned = _subshell._pinned(manager, "ours", lambda data, default: "theirs")
    assert pinned({}, None) == "ours"
    manager.subshells = []
    assert pinned({}, None) == "theirs"

    def broken(data: Any, default: Any) -> Any:
        raise RuntimeError("changed ipykernel")

    assert _subshell._pinned(manager, "ours", broken)({}, "default") == "default"


# -- in a real kernel -------------------------------------------------------------------------


class Kernel:
    def __init__(self) -> None:
        from jupyter_client.manager import start_new_kernel

        self.manager, self.client = start_new_kernel(kernel_name="python3")

    def execute(self, code: str, timeout: float = 60.0) -> str:
        """Run `code`; its stdout (errors raise)."""
        return self.collect(self.client.execute(code), timeout)

    def collect(self, msg_id: str, timeout: float = 60.0) -> str:
        out: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            msg = self.client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind == "error":
                raise AssertionError("\n".join(content["traceback"]))
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(out)

    def click(self, comm_id: str, content: dict[str, Any]) -> None:
        """What the front end sends for `model.send(content)`."""
        data = {"method": "custom", "content": content}
        msg = self.client.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        self.client.shell_channel.send(msg)

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.fixture
def kernel(dltrack_home: Any) -> Iterator[Kernel]:
    kernel = Kernel()
    try:
        yield kernel
    finally:
        kernel.close()


def test_a_pinned_widget_hears_a_click_while_another_cell_runs(kernel: Kernel) -> None:
    print_route = kernel.execute(
        "import threading, time, ipywidgets\n"
        "from dltrack_widget._subshell import route_to_subshell\n"
        "w = ipywidgets.DOMWidget()\n"
        "heard = []\n"
        "w.on_msg(lambda _w, content, _b: heard.append("
        "(time.monotonic(), threading.current_thread() is threading.main_thread())))\n"
        "print(route_to_subshell(w.comm), w.comm.comm_id)"
    )
    route, comm_id = print_route.split()
    assert route == SUBSHELL

    busy = kernel.client.execute("t0 = time.monotonic(); time.sleep(3); t1 = time.monotonic()")
    time.sleep(1.0)  # the busy cell has started
    kernel.click(comm_id, {"action": "ping"})
    kernel.collect(busy)
    heard = kernel.execute("print(len(heard), t0 < heard[0][0] < t1, heard[0][1])")
    assert heard.split() == ["1", "True", "False"]  # once, during the sleep, off the main shell


def test_stop_reaches_the_watcher_while_fit_would_hold_the_shell(
    kernel: Kernel, model_key: str
) -> None:
    pytest.importorskip("anywidget")
    kernel.execute(
        "import time\n"
        "from dltrack_widget import TrainingMonitor\n"
        f"monitor = TrainingMonitor({model_key!r})\n"
    )
    assert kernel.execute("print(monitor.stop_route)").strip() == SUBSHELL
    comm_id = kernel.execute("print(monitor.comm.comm_id)").strip()

    # While this cell runs, the monitor's Watcher must already hold the stop command.
    busy = kernel.client.execute(
        "deadline = time.monotonic() + 20\n"
        "while not monitor.watcher.snapshot()['commands'] and time.monotonic() < deadline:\n"
        "    time.sleep(0.05)\n"
        "print('commands during the cell:', len(monitor.watcher.snapshot()['commands']))"
    )
    time.sleep(0.5)
    kernel.click(comm_id, {"action": "stop", "training_id": None, "after_epoch": False})
    assert "commands during the cell: 1" in kernel.collect(busy)
    kernel.execute("monitor.close()")
