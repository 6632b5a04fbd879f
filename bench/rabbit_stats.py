"""What the RabbitMQ server itself spends, for bench/scale.py.

CPU and memory of the server process (beam.smp booting `rabbit`) come from /proc. Connections
and queues come from `rabbitmqctl`, in a virtual host of the benchmark's own, so that other
work on a shared broker is not counted: a throwaway vhost is made for the run and deleted after
it (its queues and connections with it). The node is the one tools/services.py started (its
state file; `DLTRACK_BENCH_RABBIT_STATE` may name another checkout's), else the system's
`rabbitmqctl`. Without a working rabbitmqctl the benchmark runs on the URL's own vhost and these
counts say `-`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

CTL_TIMEOUT_S = 60.0


def _server_pids() -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        # The server boots the `rabbit` application; rabbitmqctl's own short-lived VM does not.
        if b"beam" in cmdline and b"rabbit\x00boot" in cmdline:
            found.append(int(proc.name))
    return found


def server_usage(pids: list[int]) -> dict[int, tuple[float, int]]:
    """(CPU seconds so far, resident bytes) of each of these processes, by pid."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            continue
        rss = next((int(s.split()[1]) * 1024 for s in status if s.startswith("VmRSS:")), 0)
        out[pid] = ((int(fields[11]) + int(fields[12])) / ticks, rss)  # utime + stime
    return out


def _services() -> ModuleType:
    """tools/services.py, imported by path (tools/ is not a package), as tests/servers.py does."""
    path = Path(__file__).resolve().parent.parent / "tools" / "services.py"
    spec = importlib.util.spec_from_file_location("dltrack_bench_services", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU jiffies of the whole machine so far (/proc/stat), for how loaded the
    box was in a window: on a shared machine the tail latencies follow its load."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


class Ctl:
    """rabbitmqctl for the node behind the benchmark's broker URL."""

    def __init__(self) -> None:
        services = _services()
        state_file = Path(os.environ.get("DLTRACK_BENCH_RABBIT_STATE") or services.STATE_FILE)
        try:
            info = json.loads(state_file.read_text()).get("rabbitmq") or {}
        except (OSError, ValueError):
            info = {}
        if info.get("node"):
            self.command = [services.rabbit_tool("rabbitmqctl"), "-n", info["node"]]
            self.env: dict[str, str] | None = services.rabbit_env(info)
        else:
            self.command, self.env = ["rabbitmqctl"], None

    def __call__(self, *args: str) -> list[str] | None:
        """The output lines (no headers), or None if rabbitmqctl failed."""
        try:
            done = subprocess.run(
                [*self.command, "-q", *args],
                env=self.env,
                capture_output=True,
                text=True,
                timeout=CTL_TIMEOUT_S,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.splitlines() if done.returncode == 0 else None


class Vhost:
    """A virtual host of the benchmark's own on the broker at `url`, deleted on exit."""

    def __init__(self, url: str, name: str) -> None:
        self.ctl = Ctl()
        self.name = name
        self.made = False
        self.base_url = url
        self.url = url

    def __enter__(self) -> Vhost:
        user = urlsplit(self.base_url).username or "guest"
        if (
            self.ctl("add_vhost", self.name) is not None
            and self.ctl("set_permissions", "-p", self.name, user, ".*", ".*", ".*") is not None
        ):
            self.made = True
            parts = urlsplit(self.base_url)
            self.url = urlunsplit(parts._replace(path="/" + quote(self.name, safe="")))
        return self

    def server_pids(self) -> list[int]:
        """The broker's server process, as its node says; else every RabbitMQ server here
        (on a machine with several nodes, all of them)."""
        said = self.ctl("eval", "os:getpid().")
        if said and said[0].strip('"').isdigit():
            return [int(said[0].strip('"'))]
        return _server_pids()

    def __exit__(self, *exc: Any) -> None:
        if self.made:
            self.ctl("delete_vhost", self.name)

    def counts(self) -> dict[str, int | None]:
        """Connections and queues in this vhost now (None: not known)."""
        if not self.made:
            return {"connections": None, "queues": None}
        connections = self.ctl("list_connections", "--no-table-headers", "vhost")
        queues = self.ctl("list_queues", "--no-table-headers", "-p", self.name, "name")
        return {
            "connections": None
            if connections is None
            else sum(line.strip() == self.name for line in connections),
            "queues": None if queues is None else len([q for q in queues if q.strip()]),
        }
