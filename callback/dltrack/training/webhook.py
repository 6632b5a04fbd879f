"""The notify webhook: each `notify` rule's firing POSTed as plain JSON, off the training thread.

The URL is a secret (Slack, Discord and ntfy URLs carry their token in the path or query), so it
stays in this object: a failure is said once, naming only the scheme and host. One worker
thread sends in order; the training thread only puts the body in a queue, so an unreachable or
slow endpoint costs `fit()` nothing but, at the very end, a bounded wait for posts still queued.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from dltrack.wire.errors import ConfigError

log = logging.getLogger("dltrack")

POST_TIMEOUT_S = 5.0
# At the end of fit(), how long posts still queued may hold it (a rule that fired in the last
# epoch should still be told; a dead endpoint must not hold the user's script).
FLUSH_S = 2.0
MAX_QUEUED = 100


def check_url(url: str) -> str:
    """`url` if it can be posted to; otherwise `ConfigError` (the message never repeats it)."""
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("webhook must be an http:// or https:// URL with a host")
    return url


def public_part(url: str) -> str:
    """What may be shown of `url`: scheme, host and port (no user, path or query)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def _failure(exc: Exception) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"  # the reason phrase may echo the request; the code cannot
    return type(exc).__name__


class Webhook:
    def __init__(self, url: str, warn: Callable[[str], None]) -> None:
        self._url = check_url(url)
        self._warn = warn
        self._warned = False
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(MAX_QUEUED)
        self._thread = threading.Thread(target=self._run, name="dltrack-webhook", daemon=True)
        self._thread.start()

    def post(self, body: dict[str, Any]) -> None:
        """Queue `body` to be sent; never blocks, never raises."""
        try:
            self._queue.put_nowait(body)
        except queue.Full:
            self._failed("too many notifications waiting")

    def close(self, timeout: float = FLUSH_S) -> None:
        """Send what is queued, waiting at most `timeout` seconds."""
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            return
        self._thread.join(timeout)

    def _run(self) -> None:
        while (body := self._queue.get()) is not None:
            request = urllib.request.Request(
                self._url,
                data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json", "User-Agent": "dltrack"},
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=POST_TIMEOUT_S) as response:
                    response.read(1024)
            except Exception as exc:  # noqa: BLE001 - a failed notification must not reach fit()
                self._failed(_failure(exc))

    def _failed(self, why: str) -> None:
        if self._warned:
            log.debug("dltrack: the notify webhook failed again (%s)", why)
            return
        self._warned = True
        self._warn(
            f"dltrack: the notify webhook at {public_part(self._url)} failed ({why}); the "
            "training goes on, and viewers still get the notifications (said once)"
        )
