"""`dltrack serve KEY…`: the live monitor as a web page, for a phone or any browser.

The page renders the widget's own bundle through a model shim over a websocket (js/page.js),
fed by one Watcher per key, exactly the payload the widget syncs. Access is by a random token
in the URL, printed once at start (like Jupyter's) with a QR code for a phone's camera.
"""

from __future__ import annotations

import contextlib
import secrets
import sys
from collections.abc import Sequence
from typing import TextIO

from dltrack.viewing.watcher import Watcher, default_sender

from .address import bind, page_urls
from .app import WS_MAX_BYTES, build_app
from .hub import Hub


def serve(
    keys: Sequence[str],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    allow_control: bool = False,
    broker: str | None = None,
    store: str | None = None,
    out: TextIO = sys.stdout,
) -> None:
    """Serve the monitors of `keys` until interrupted; raises `DltrackError` (unknown key,
    bad URL, port in use, bad host) before anything is served."""
    import uvicorn

    sock = bind(host, port)  # first: a port in use should not wait for the servers
    watchers: list[Watcher] = []
    try:
        for key in dict.fromkeys(keys):  # each key once, in the order given
            watcher = Watcher(key, broker=broker, store=store, sender=default_sender("web page"))
            watchers.append(watcher.start())
        hub = Hub(watchers)
        token = secrets.token_urlsafe(32)
        config = uvicorn.Config(
            build_app(hub, token, allow_control=allow_control),
            log_level="warning",
            access_log=False,  # an access log line would hold the token
            ws="auto",  # websockets (the `serve` extra) when installed
            ws_max_size=WS_MAX_BYTES,
            lifespan="on",
            timeout_graceful_shutdown=3,
        )
        _announce(out, page_urls(sock, host, token), len(watchers), allow_control)
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        for watcher in watchers:
            watcher.close()


def _announce(out: TextIO, urls: tuple[str, bool], count: int, allow_control: bool) -> None:
    url, from_network = urls
    models = f"{count} model{'s' if count != 1 else ''}"
    mode = "Stop enabled" if allow_control else "read-only (--allow-control enables Stop)"
    print(f"dltrack serve: {models}, {mode}", file=out)
    if from_network:
        print("The page is reachable from the network; anyone with this URL sees it:", file=out)
    else:
        print("Only this machine can open the page (--host 0.0.0.0: the network too):", file=out)
    print(f"    {url}", file=out)
    _qr(url, out)
    print("Keep the URL private: its token is the only key. Ctrl+C stops the server.", file=out)
    out.flush()


def _qr(url: str, out: TextIO) -> None:
    """The URL as a QR code in the terminal, for a phone's camera; skipped where the terminal
    cannot show the block characters."""
    import segno

    with contextlib.suppress(UnicodeEncodeError):
        segno.make(url, error="l").terminal(out=out, compact=True)
