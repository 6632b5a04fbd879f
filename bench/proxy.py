"""A real network between the two sides: a TCP proxy that delays, jitters and stalls.

`LatencyProxy` (asyncio, in a thread of its own) forwards 127.0.0.1:`port` to an upstream
address, delaying every chunk by `delay ± jitter` seconds in each direction while keeping each
direction's order (TCP never reorders), and optionally stalling both directions for `stall_s`
every `stall_every_s` (a congested or lossy link: TCP turns loss into such stalls). The bench
puts it in front of RabbitMQ and measures live latency (batch end → viewer) and stop latency
(command → stop_training) through it:

    python -m bench.proxy [--quick] [--stall]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit


class LatencyProxy:
    def __init__(
        self,
        upstream: tuple[str, int],
        delay: float = 0.05,
        jitter: float = 0.02,
        stall_every_s: float = 0.0,
        stall_s: float = 0.0,
        seed: int = 1,
    ) -> None:
        self.upstream = upstream
        self.delay, self.jitter = delay, jitter
        self.stall_every_s, self.stall_s = stall_every_s, stall_s
        self._rng = random.Random(seed)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="latency-proxy", daemon=True)
        self._started = time.monotonic()
        self.port = 0

    def start(self) -> LatencyProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    def _release_at(self, now: float) -> float:
        """When a chunk read now may be written: after its delay, and after any stall."""
        at = now + max(0.0, self._rng.gauss(self.delay, self.jitter / 2))
        if self.stall_every_s:
            phase = (at - self._started) % self.stall_every_s
            if phase < self.stall_s:
                at += self.stall_s - phase
        return at

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            last = 0.0
            while True:
                at, data = await queue.get()
                at = max(at, last)  # in order: a chunk never overtakes the one before
                last = at
                await asyncio.sleep(max(0.0, at - time.monotonic()))
                if not data:
                    break
                writer.write(data)
                await writer.drain()

        sender = asyncio.ensure_future(deliver())
        try:
            while data := await reader.read(65536):
                queue.put_nowait((self._release_at(time.monotonic()), data))
        except OSError:
            pass
        queue.put_nowait((self._release_at(time.monotonic()), b""))
        with contextlib.suppress(OSError):
            await sender
        writer.close()


@contextlib.contextmanager
def proxied(url: str, **options: Any) -> Iterator[str]:
    """`url` (amqp://…) rewritten to go through a LatencyProxy for the block."""
    parts = urlsplit(url)
    proxy = LatencyProxy((parts.hostname or "127.0.0.1", parts.port or 5672), **options).start()
    auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    try:
        yield urlunsplit(parts._replace(netloc=f"{auth}127.0.0.1:{proxy.port}"))
    finally:
        proxy.close()


def run(quick: bool, stall: bool) -> dict[str, Any]:
    from . import latency, stop_time
    from .sandbox import Sandbox, amqp_url

    real = amqp_url()
    if real is None:
        return {"skipped": "DLTRACK_TEST_AMQP_URL is not set"}
    options = {"stall_every_s": 10.0, "stall_s": 0.3} if stall else {}
    result: dict[str, Any] = {"one_way_ms": "50 ± 20", "stalls": options or None}
    with proxied(real, **options) as url, Sandbox("proxy") as sandbox:
        sandbox.broker_url = lambda backend: url  # type: ignore[method-assign]
        result["live"] = latency.one_run(sandbox, "amqp", 10, 10.0 if quick else 30.0)
        result["stop"] = stop_time.trials(sandbox, "amqp", 3 if quick else 10)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--stall", action="store_true", help="stall 0.3 s every 10 s")
    args = parser.parse_args(argv)
    json.dump(run(args.quick, args.stall), sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
