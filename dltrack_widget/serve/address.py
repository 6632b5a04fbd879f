"""Where `dltrack serve` listens, and the URL it tells the user to open.

The socket is bound here, before the server starts, so that a bad `--host` or a port in use
is a one-line error (and `--port 0` a free port whose number is known before it is printed).
"""

from __future__ import annotations

import errno
import ipaddress
import socket

from dltrack.wire.errors import ConfigError

WILDCARDS = ("0.0.0.0", "::", "")


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host`:`port`; `ConfigError` saying what to change if not."""
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError, ValueError):
        raise ConfigError(
            f"--host {host!r} is not an address or host name of this machine; "
            "use 127.0.0.1 (this machine only) or 0.0.0.0 (every network interface)"
        ) from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} on {host} is in use; pick another with --port N (0: any free port)"
            ) from None
        raise ConfigError(
            f"cannot listen on {host} port {port}: {exc.strerror}; "
            "--host must be an address of this machine, --port a free port"
        ) from None
    return sock


def _lan_address() -> str:
    """This machine's address on its main network (no packet is sent: a UDP socket is only
    pointed somewhere, which makes the system pick the interface it would use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.254.254.254", 1))
            return str(probe.getsockname()[0])
        except OSError:
            return socket.gethostname()


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def page_urls(sock: socket.socket, host: str, token: str) -> tuple[str, bool]:
    """(the URL to open, whether other machines can reach it)."""
    port = sock.getsockname()[1]
    shown = _lan_address() if host in WILDCARDS else host
    if ":" in shown:  # IPv6 literal
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/?token={token}", not _is_loopback(host)
