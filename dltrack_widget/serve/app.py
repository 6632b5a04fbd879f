"""The `dltrack serve` web app (Starlette): the page, the widget's bundle, and one websocket
that carries what the widget's comm carries in a notebook.

Every request and every websocket must carry the server's token (`?token=…`); without it the
answer is a bare 403, before any route runs. Control messages (Stop, delete, rename) from the
page reach the Watcher only when the server was started with `--allow-control`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import pathlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from .._assets import bundle
from .._messages import apply_front_end_message
from .hub import Hub

log = logging.getLogger("dltrack")

PAGE = pathlib.Path(__file__).parent / "page"
# Nothing the page sends is near this; a bigger frame is junk and closes the socket.
WS_MAX_BYTES = 64 * 1024
HEADERS = {
    # The token is in the URL: no other site may learn it from a Referer header.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


class TokenGate:
    """ASGI middleware: a request or websocket without the right `token` query parameter is
    refused (403) before the app sees it. A websocket closed before it is accepted is
    answered 403 by the server (ASGI spec)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._token = token.encode()

    def _allowed(self, scope: Scope) -> bool:
        for pair in scope.get("query_string", b"").split(b"&"):
            name, _, value = pair.partition(b"=")
            if name == b"token":
                return secrets.compare_digest(value, self._token)
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._allowed(scope):
            await PlainTextResponse("403 Forbidden", status_code=403, headers=HEADERS)(
                scope, receive, send
            )
        elif scope["type"] == "websocket" and not self._allowed(scope):
            await send({"type": "websocket.close", "code": 1008})
        else:
            await self.app(scope, receive, send)


def _file(path: pathlib.Path, media_type: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return FileResponse(path, media_type=media_type, headers=HEADERS)

    return endpoint


def _manifest(token: str) -> Callable[[Request], Awaitable[Response]]:
    """The web app manifest: "add to home screen" opens this server with its token."""
    query = f"?token={token}"
    body = {
        "name": "dltrack",
        "short_name": "dltrack",
        "description": "Live Keras trainings",
        "start_url": f"./{query}",
        "scope": "./",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1565c0",
        "icons": [
            {"src": f"icon-{n}.png{query}", "sizes": f"{n}x{n}", "type": "image/png"}
            for n in (192, 512)
        ],
    }

    async def endpoint(request: Request) -> Response:
        return JSONResponse(body, media_type="application/manifest+json", headers=HEADERS)

    return endpoint


def _encode(message: dict[str, Any]) -> str | None:
    try:
        return json.dumps(message, allow_nan=False, separators=(",", ":"))
    except ValueError:  # a NaN the wire should have dropped: skip this update, not the page
        log.debug("dltrack serve: an update that is not JSON was not sent")
        return None


async def _push(websocket: WebSocket, hub: Hub, news: asyncio.Event) -> None:
    """Send each monitor's changed traits whenever the hub has news, newest only."""
    sent = [0] * len(hub.feeds)
    try:
        while True:
            await news.wait()
            news.clear()
            for index, feed in enumerate(hub.feeds):
                version, values = feed.values_since(sent[index])
                if version == sent[index]:
                    continue
                sent[index] = version
                text = _encode({"kind": "update", "monitor": index, "values": values})
                if text is not None:
                    await websocket.send_text(text)
    except (WebSocketDisconnect, RuntimeError, OSError):
        return  # the page went away; the receiving side ends the session


def _control(hub: Hub, text: Any) -> None:
    """Hand a page's message `{"monitor": i, "content": {...}}` to its Watcher; junk, and
    anything naming a monitor that does not exist, is ignored."""
    if not isinstance(text, str):
        return
    try:
        message = json.loads(text)
    except ValueError:
        return
    if not isinstance(message, dict):
        return
    index = message.get("monitor")
    if type(index) is int and 0 <= index < len(hub.feeds):
        apply_front_end_message(hub.feeds[index].watcher, message.get("content"))


def _session(hub: Hub, allow_control: bool) -> Callable[[WebSocket], Awaitable[None]]:
    async def session(websocket: WebSocket) -> None:
        await websocket.accept()
        hello = {"kind": "hello", "monitors": len(hub.feeds), "read_only": not allow_control}
        await websocket.send_text(json.dumps(hello))
        news = hub.subscribe()
        pusher = asyncio.create_task(_push(websocket, hub, news))
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if allow_control:
                    _control(hub, message.get("text"))
                # Read-only: the page shows no controls; whatever comes anyway is dropped.
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            hub.unsubscribe(news)
            pusher.cancel()

    return session


def build_app(hub: Hub, token: str, *, allow_control: bool) -> ASGIApp:
    js = "text/javascript; charset=utf-8"
    routes = [
        Route("/", _file(PAGE / "index.html", "text/html; charset=utf-8")),
        Route("/page.js", _file(bundle("page.js"), js)),
        Route("/widget.js", _file(bundle("widget.js"), js)),
        Route("/widget.css", _file(bundle("widget.css"), "text/css; charset=utf-8")),
        Route("/sw.js", _file(PAGE / "sw.js", js)),
        Route("/icon-192.png", _file(PAGE / "icon-192.png", "image/png")),
        Route("/icon-512.png", _file(PAGE / "icon-512.png", "image/png")),
        Route("/manifest.webmanifest", _manifest(token)),
        WebSocketRoute("/ws", _session(hub, allow_control)),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        hub.start(asyncio.get_running_loop())
        yield

    return TokenGate(Starlette(routes=routes, lifespan=lifespan), token)
