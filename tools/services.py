#!/usr/bin/env python3
"""Provide the real servers the tests run against: RabbitMQ and the Cloud Firestore emulator.

    python tools/services.py run -- CMD...   provide both, run CMD, stop what was started for it
    python tools/services.py start | stop [--force] | status

CMD sees `DLTRACK_TEST_AMQP_URL` (amqp://guest:guest@127.0.0.1:PORT/%2F) and
`DLTRACK_TEST_FIRESTORE_EMULATOR` (127.0.0.1:PORT). A RabbitMQ already answering on 5672 with
guest/guest is reused and never stopped; otherwise a private node is started with every path,
port and node name under `.services/`, so it cannot collide with a system instance. Servers are
shared by concurrent runs: `.services/state.json` records who uses them, and the last user out
stops what was started (unless `start` pinned them). With CI=true, a service that cannot be
provided is an error; otherwise CMD runs without it and the tests that need it skip.

Standard library only: this runs before any virtual environment exists.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = ROOT / ".services"
STATE_FILE = STATE_DIR / "state.json"
RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")
EMULATOR_PACKAGE = "google-cloud-cli-firestore-emulator"
EMULATOR_CLASS = "com.google.cloud.datastore.emulator.firestore.CloudFirestore"
AMQP_ENV = "DLTRACK_TEST_AMQP_URL"
FIRESTORE_ENV = "DLTRACK_TEST_FIRESTORE_EMULATOR"
START_TIMEOUT_S = 90.0


class ServiceError(Exception):
    """A server could not be provided; the message says why."""


def log(text: str) -> None:
    print(f"[services] {text}", file=sys.stderr, flush=True)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


# --- probes -----------------------------------------------------------------------------------


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _frame(payload: bytes) -> bytes:
    return b"\x01\x00\x00" + len(payload).to_bytes(4, "big") + payload + b"\xce"


def _read_method(sock: socket.socket) -> tuple[int, int, bytes]:
    header = b""
    while len(header) < 7:
        chunk = sock.recv(7 - len(header))
        if not chunk:
            raise OSError("closed")
        header += chunk
    size = int.from_bytes(header[3:7], "big")
    body = b""
    while len(body) < size + 1:
        chunk = sock.recv(size + 1 - len(body))
        if not chunk:
            raise OSError("closed")
        body += chunk
    return int.from_bytes(body[0:2], "big"), int.from_bytes(body[2:4], "big"), body[4:size]


def short(s: bytes) -> bytes:
    """An AMQP short string."""
    return bytes([len(s)]) + s


def amqp_answers(port: int, host: str = "127.0.0.1", timeout: float = 3.0) -> bool:
    """True when an AMQP 0-9-1 server on host:port accepts guest/guest on vhost "/".

    A hand-written handshake (Start-Ok, Tune-Ok, Open) because pika may not be installed yet.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"AMQP\x00\x00\x09\x01")
            if _read_method(sock)[:2] != (10, 10):  # Connection.Start
                return False
            response = b"\x00guest\x00guest"
            start_ok = (
                b"\x00\x0a\x00\x0b\x00\x00\x00\x00"
                + short(b"PLAIN")
                + len(response).to_bytes(4, "big")
                + response
                + short(b"en_US")
            )
            sock.sendall(_frame(start_ok))
            cls, meth, args = _read_method(sock)
            if (cls, meth) != (10, 30):  # Connection.Tune, else refused
                return False
            sock.sendall(_frame(b"\x00\x0a\x00\x1f" + args[:6] + b"\x00\x00"))
            sock.sendall(_frame(b"\x00\x0a\x00\x28" + short(b"/") + b"\x00\x00"))
            opened = _read_method(sock)[:2] == (10, 41)
            with contextlib.suppress(OSError):
                sock.sendall(_frame(b"\x00\x0a\x00\x32\x00\xc8\x00\x00\x00\x00\x00"))
            return opened
    except OSError:
        return False


def emulator_answers(host: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}/", timeout=timeout) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def wait_for(check: Any, proc: subprocess.Popen[bytes] | None, what: str, logfile: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not check():
        if proc is not None and proc.poll() is not None:
            raise ServiceError(f"{what} exited with code {proc.returncode}; see {logfile}")
        if time.monotonic() > deadline:
            raise ServiceError(f"{what} not ready after {START_TIMEOUT_S:.0f} s; see {logfile}")
        time.sleep(0.25)


def stop_process(pid: int, marker: str) -> None:
    """Stop the process group we started as `pid`, if `pid` is still that process."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return
    if marker.encode() not in cmdline:  # the pid was reused by something that is not ours
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        for _ in range(50):
            if not alive(pid):
                return
            time.sleep(0.1)


def _status(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/status").read_bytes().lower()
    except OSError:
        return b""


# --- installation -----------------------------------------------------------------------------


def apt_install(*packages: str) -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise ServiceError(f"{' '.join(packages)} missing; install it (apt-get install ...)")
    log(f"installing {' '.join(packages)} (apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for args in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *packages]):
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
        if done.returncode:
            raise ServiceError(f"{' '.join(args)} failed: {done.stderr.strip()[-300:]}")


def rabbit_tool(name: str) -> str:
    """Path of a RabbitMQ script, bypassing Debian's wrapper (which `su`s to rabbitmq)."""
    direct = RABBIT_BIN / name
    return str(direct) if direct.exists() else (shutil.which(name) or name)


def emulator_jar() -> str:
    listing = subprocess.run(
        ["dpkg", "-L", EMULATOR_PACKAGE], capture_output=True, text=True, check=False
    ).stdout
    jars = [line for line in listing.splitlines() if line.endswith("emulator.jar")]
    if not jars:
        raise ServiceError(
            f"the Firestore emulator is not installed (Debian package {EMULATOR_PACKAGE}); "
            "it cannot be downloaded here"
        )
    return jars[0]


# --- RabbitMQ ---------------------------------------------------------------------------------


def rabbit_env(info: dict[str, Any]) -> dict[str, str]:
    base = Path(info["dir"])
    return {
        **os.environ,
        # Erlang keeps its cookie in $HOME: a private HOME keeps server and ctl in agreement.
        "HOME": str(base / "home"),
        "RABBITMQ_NODENAME": info["node"],
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(info["port"]),
        "RABBITMQ_DIST_PORT": str(info["dist_port"]),
        "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(base / "log"),
        "RABBITMQ_PID_FILE": str(base / "rabbit.pid"),
        "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
        "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
    }


def rabbitmqctl(info: dict[str, Any], *args: str, timeout: float = 60.0) -> None:
    """Run rabbitmqctl against the node in `info` (ours, or a reused system one)."""
    if info.get("node"):
        command = [rabbit_tool("rabbitmqctl"), "-n", info["node"], *args]
        env: dict[str, str] | None = rabbit_env(info)
    else:  # a system instance: its own wrapper knows its node and cookie
        command, env = ["rabbitmqctl", *args], None
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode:
        raise ServiceError(f"rabbitmqctl {' '.join(args)} failed: {done.stderr.strip()[-300:]}")


def provide_rabbitmq() -> dict[str, Any]:
    """A RabbitMQ for the tests: the one on 5672 if it takes guest/guest, else a node of ours."""
    if amqp_answers(5672):
        log("reusing the RabbitMQ answering on 127.0.0.1:5672")
        return {"port": 5672, "owned": False, "node": None}
    if not Path(rabbit_tool("rabbitmq-server")).exists():
        apt_install("rabbitmq-server")
        # The package may start a system instance (sysvinit or systemd): wait for it rather
        # than race it for port 5672.
        deadline = time.monotonic() + 30
        while rabbit_nodes_running() and time.monotonic() < deadline:
            if amqp_answers(5672):
                log("reusing the RabbitMQ the package started on 127.0.0.1:5672")
                return {"port": 5672, "owned": False, "node": None}
            time.sleep(0.5)
    return start_rabbitmq_node(5672 if port_free(5672) else free_port())


def rabbit_nodes_running() -> bool:
    """Whether any RabbitMQ node (an Erlang VM booting `rabbit`) runs on this machine."""
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"beam" in cmdline and b"rabbit\x00boot" in cmdline:
            return True
    return False


def start_rabbitmq_node(port: int, management: bool = False) -> dict[str, Any]:
    """Start a RabbitMQ node of our own on `port`, everything under .services/; with
    `management`, also its HTTP API (per-user permissions for `dltrack grant`) on
    `info["management_port"]`."""
    if not Path(rabbit_tool("rabbitmq-server")).exists():
        raise ServiceError("rabbitmq-server is not installed (apt-get install rabbitmq-server)")
    base = STATE_DIR / f"rabbitmq-{port}"
    info = {
        "port": port,
        "dist_port": free_port(),
        "node": f"dltrack{port}@localhost",
        "dir": str(base),
        "owned": True,
        "epmd_was_running": not port_free(4369),
    }
    shutil.rmtree(base, ignore_errors=True)
    (base / "home").mkdir(parents=True)
    (base / "rabbitmq-env.conf").write_text("")
    (base / "enabled_plugins").write_text("[rabbitmq_management].\n" if management else "[].\n")
    if management:
        info["management_port"] = free_port()
        (base / "rabbitmq.conf").write_text(
            f"management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {info['management_port']}\n"
        )
    logfile = base / "server.out"
    log(f"starting RabbitMQ node {info['node']} on 127.0.0.1:{port}")
    with logfile.open("wb") as out:
        proc = subprocess.Popen(
            [rabbit_tool("rabbitmq-server")],
            env=rabbit_env(info),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    info["pid"] = proc.pid
    try:
        wait_for(lambda: amqp_answers(port), proc, "rabbitmq-server", logfile)
        if management:
            url = f"http://127.0.0.1:{info['management_port']}/api/overview"
            wait_for(lambda: http_answers(url), proc, "rabbitmq_management", logfile)
    except ServiceError:
        stop_rabbitmq(info)
        raise
    return info


def http_answers(url: str) -> bool:
    """Whether `url` answers at all (any HTTP status): the management API is listening."""
    try:
        urllib.request.urlopen(url, timeout=2)
    except urllib.error.HTTPError:
        return True  # 401 without credentials: listening
    except OSError:
        return False
    return True


def stop_rabbitmq(info: dict[str, Any]) -> None:
    if not info.get("owned"):
        return
    log(f"stopping RabbitMQ node {info['node']}")
    with contextlib.suppress(ServiceError, subprocess.TimeoutExpired):  # then the signal
        rabbitmqctl(info, "stop")
    stop_process(int(info.get("pid", 0)) or -1, "rabbit")
    if not info.get("epmd_was_running") and shutil.which("epmd"):
        # We started epmd implicitly; -kill refuses while any node is still registered.
        subprocess.run(["epmd", "-kill"], capture_output=True, check=False)
    shutil.rmtree(info["dir"], ignore_errors=True)


# --- Firestore emulator -----------------------------------------------------------------------


def provide_firestore(port: int | None = None, rules: Path | None = None) -> dict[str, Any]:
    """Start an emulator; with `rules`, it enforces that rules file (as Firestore does) on
    requests that carry a user's ID token, while "Bearer owner" (admin clients) bypasses it."""
    jar = emulator_jar()
    if not shutil.which("java"):
        apt_install("default-jre-headless")
    port = port or free_port()
    host = f"127.0.0.1:{port}"
    STATE_DIR.mkdir(exist_ok=True)
    logfile = STATE_DIR / f"firestore-{port}.log"
    log(f"starting the Firestore emulator on {host}")
    command = ["java", "-cp", jar, EMULATOR_CLASS, "--host=127.0.0.1", f"--port={port}"]
    if rules is not None:
        command.append(f"--rules={rules}")
    with logfile.open("wb") as out:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    info = {"host": host, "port": port, "pid": proc.pid, "jar": jar, "owned": True}
    try:
        wait_for(lambda: emulator_answers(host), proc, "the Firestore emulator", logfile)
    except ServiceError:
        stop_firestore(info)
        raise
    return info


def stop_firestore(info: dict[str, Any]) -> None:
    if info.get("owned"):
        log(f"stopping the Firestore emulator on {info['host']}")
        stop_process(int(info["pid"]), EMULATOR_CLASS)
        (STATE_DIR / f"firestore-{info['port']}.log").unlink(missing_ok=True)


# --- shared state -----------------------------------------------------------------------------


@contextlib.contextmanager
def locked_state() -> Iterator[dict[str, Any]]:
    """The state file, read and written under an exclusive lock (runs may be concurrent)."""
    STATE_DIR.mkdir(exist_ok=True)
    with (STATE_DIR / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            state = json.loads(STATE_FILE.read_text()) if STATE_FILE.exists() else {}
        except ValueError:
            state = {}
        yield state
        STATE_FILE.write_text(json.dumps(state, indent=2))


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and b"zombie" not in _status(pid)


def answering(name: str, info: dict[str, Any]) -> bool:
    if name == "rabbitmq":
        return amqp_answers(int(info["port"]))
    return emulator_answers(info["host"])


def ensure(state: dict[str, Any], strict: bool) -> list[str]:
    """Make every service in `state` answer, starting what is missing; return the failures."""
    failures = []
    for name, provide in (("rabbitmq", provide_rabbitmq), ("firestore", provide_firestore)):
        info = state.get(name)
        if info and answering(name, info):
            continue
        if info:  # recorded but dead: clean up what is left of it before starting anew
            (stop_rabbitmq if name == "rabbitmq" else stop_firestore)(info)
        try:
            state[name] = provide()
        except (ServiceError, OSError, subprocess.SubprocessError) as exc:
            state.pop(name, None)
            failures.append(f"{name}: {exc}")
            log(f"{'ERROR' if strict else 'warning'}: {name} unavailable: {exc}")
    return failures


def service_env(state: dict[str, Any]) -> dict[str, str]:
    env = {}
    if "rabbitmq" in state:
        env[AMQP_ENV] = f"amqp://guest:guest@127.0.0.1:{state['rabbitmq']['port']}/%2F"
    if "firestore" in state:
        env[FIRESTORE_ENV] = state["firestore"]["host"]
    return env


def stop_all(state: dict[str, Any]) -> None:
    stop_rabbitmq(state.pop("rabbitmq", {}))
    stop_firestore(state.pop("firestore", {}))
    state.clear()


def acquire(user: int, strict: bool) -> tuple[dict[str, str], list[str]]:
    """Provide the services for `user` (a pid); return their env vars and what failed."""
    with locked_state() as state:
        failures = ensure(state, strict)
        state["users"] = [pid for pid in state.get("users", []) if alive(pid)] + [user]
        return service_env(state), failures


def release(user: int) -> None:
    """`user` is done; the last user out stops what was started, unless `start` pinned it."""
    with locked_state() as state:
        users = [pid for pid in state.get("users", []) if alive(pid) and pid != user]
        state["users"] = users
        if not users and not state.get("pinned"):
            stop_all(state)


# --- private servers (fault tests stop and restart them, so they share them with nobody) ----


def pause_rabbitmq(info: dict[str, Any]) -> None:
    """Stop the RabbitMQ application (the node stays up): every connection drops."""
    rabbitmqctl(info, "stop_app")


def resume_rabbitmq(info: dict[str, Any]) -> None:
    rabbitmqctl(info, "start_app")
    wait_for(lambda: amqp_answers(int(info["port"])), None, "RabbitMQ", Path(info["dir"]))


def restart_firestore(info: dict[str, Any]) -> dict[str, Any]:
    """The emulator of `info` started again on the same port (empty: it keeps nothing)."""
    stop_firestore(info)
    return provide_firestore(int(info["port"]))


# --- command line -----------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    usage = "usage: services.py run -- CMD... | start | stop [--force] | status"
    if not argv:
        print(usage, file=sys.stderr)
        return 2
    strict = in_ci()
    command = argv[0]
    if command == "run":
        cmd = argv[2:] if argv[1:2] == ["--"] else argv[1:]
        if not cmd:
            print(usage, file=sys.stderr)
            return 2
        env, failures = acquire(os.getpid(), strict)
        try:
            if failures and strict:
                return 1
            return subprocess.call(cmd, env={**os.environ, **env})
        finally:
            release(os.getpid())
    if command == "start":
        with locked_state() as state:
            failures = ensure(state, strict)
            state["pinned"] = True
            env = service_env(state)
        for name, value in env.items():
            print(f"export {name}={value}")
        return 1 if failures else 0
    if command == "stop":
        force = argv[1:2] == ["--force"]
        with locked_state() as state:
            state["pinned"] = False
            users = [pid for pid in state.get("users", []) if alive(pid)]
            if users and not force:
                log(f"still used by pids {users}: the last of them stops it (or: stop --force)")
                return 0
            stop_all(state)
        return 0
    if command == "status":
        with locked_state() as state:
            for name in ("rabbitmq", "firestore"):
                info = state.get(name)
                up = info is not None and answering(name, info)
                where = service_env({name: info}) if info else {}
                shown = next(iter(where.values()), "-")
                print(f"{name:10} {'up' if up else 'down':5} {shown}")
        return 0
    print(usage, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
