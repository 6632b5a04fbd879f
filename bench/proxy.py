"""A real network between the two sides: a TCP proxy that delays, jitters and stalls.

`LatencyProxy` (asyncio, in a thread of its own) forwards 127.0.0.1:`port` to an upstream
address, delaying every chunk by `delay ± jitter` seconds in each direction while keeping each
direction's order (TCP never reorders), and optionally stalling both directions for `stall_s`
every `stall_every_s` (a congested or lossy link: TCP turns loss into such stalls). The bench
puts one in front of RabbitMQ and one in front of the Firestore emulator (it speaks gRPC over
HTTP/2 on one TCP port, so a TCP proxy carries it; FIRESTORE_EMULATOR_HOST names the proxy, for
this process and the trainings it starts), with the model's history in that store, and
measures live latency (batch end → viewer), stop latency (command → stop_training) and how
long a late joiner takes to show the history it reads from the store:

    python -m bench.proxy [--quick] [--stall] [--store local]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
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
        self._server: asyncio.AbstractServer
        self.port = 0

    def start(self) -> LatencyProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def close(self) -> None:
        """Cut every connection, stop the loop and its thread."""

        async def shutdown() -> None:
            self._server.close()  # no new connections
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):  # a loop already stopped has nothing to cut
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self._server = server
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
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:  # also when the proxy closes (cancelled): no transport left open
            writer.close()
            up_writer.close()

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


@contextlib.contextmanager
def proxied_emulator(host: str, **options: Any) -> Iterator[str]:
    """FIRESTORE_EMULATOR_HOST pointed through a LatencyProxy at the emulator on `host`
    (`host:port`) for the block: this process's stores and those of processes it starts."""
    name, port = host.rsplit(":", 1)
    proxy = LatencyProxy((name, int(port)), **options).start()
    old = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = address = f"127.0.0.1:{proxy.port}"
    try:
        yield address
    finally:
        if old is None:
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = old
        proxy.close()


def late_joins(key: str, broker: str, store: str, count: int) -> dict[str, Any]:
    """A Watcher opened `count` times on the finished model: ms until it shows every epoch."""
    from dltrack import Watcher
    from dltrack.backends import open_store

    from .runner import tail

    opened = open_store(store)
    try:
        want = {t.training_id: t.epochs_done for t in opened.list_trainings(key)}
    finally:
        opened.close()

    def complete(snap: dict[str, Any]) -> bool:
        shown = {t["training_id"]: len(t["epochs"]) for t in snap["trainings"]}
        return bool(want) and shown == want

    took = []
    for _ in range(count):
        start = time.monotonic()
        with Watcher(key, broker=broker, store=store) as watcher:
            if watcher.wait_for(complete, 60) is None:
                raise RuntimeError(f"a late joiner never showed the history: {want}")
            took.append(1000 * (time.monotonic() - start))
    return {"epochs": sum(want.values()), "shown_ms": tail(took)}


def run(quick: bool, stall: bool, store: str) -> dict[str, Any]:
    from . import latency, stop_time
    from .sandbox import Sandbox, amqp_url

    real = amqp_url()
    if real is None:
        return {"skipped": "DLTRACK_TEST_AMQP_URL is not set"}
    emulator = os.environ.get("DLTRACK_TEST_FIRESTORE_EMULATOR")
    if store == "firestore" and not emulator:
        return {"skipped": "DLTRACK_TEST_FIRESTORE_EMULATOR is not set (or pass --store local)"}
    options = {"stall_every_s": 10.0, "stall_s": 0.3} if stall else {}
    result: dict[str, Any] = {"one_way_ms": "50 ± 20", "stalls": options or None}
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(proxied(real, **options))
        sandbox = stack.enter_context(Sandbox("proxy"))
        sandbox.broker_url = lambda backend: url  # type: ignore[method-assign]
        if store == "firestore":
            assert emulator is not None
            # Another seed: the two links jitter independently.
            stack.enter_context(proxied_emulator(emulator, seed=2, **options))
            sandbox.store_url = f"firestore://proxy-{secrets.token_hex(4)}"
        result["store"] = sandbox.store_url.split(":", 1)[0] + " (proxied)" * (store != "local")
        keys: list[str] = []  # the models the benches make, for the late joiners
        new_model = sandbox.new_model

        def remembered(name: str) -> str:
            keys.append(new_model(name))
            return keys[-1]

        sandbox.new_model = remembered  # type: ignore[method-assign]
        result["live"] = latency.one_run(sandbox, "amqp", 10, 10.0 if quick else 30.0)
        result["late_joiner"] = late_joins(keys[0], url, sandbox.store_url, 3 if quick else 10)
        result["stop"] = stop_time.trials(sandbox, "amqp", 3 if quick else 10)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--stall", action="store_true", help="stall 0.3 s every 10 s")
    parser.add_argument(
        "--store",
        choices=("firestore", "local"),
        default="firestore",
        help="the history in the Firestore emulator, behind a proxy too (default), or local",
    )
    args = parser.parse_args(argv)
    json.dump(run(args.quick, args.stall, args.store), sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
