"""Stop sent -> `stop_training` set in the training process, p50/p99, both backends.

A child process runs trainings on demand (a real Tracker driven at 100 batches/s, so "plus the
current batch" is at most 10 ms); the parent waits until the training is live, waits a random
0-300 ms so the stop lands at any phase of the Tracker's polling, stamps the time and sends the
stop three ways, in turn: `Watcher.stop_training` (what the Stop button and `dltrack stop` call,
through the Watcher's live thread), the same as it was before it woke that thread
(bench/watcher_before.py), and `Broker.send_command` directly. The child stamps the moment
`stop_training` is set. For the Watcher path the time until the viewer shows the training's
acknowledgement is reported too.

    python -m bench.stop_time [--quick] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sys
import time
from typing import Any

from .sandbox import Sandbox, amqp_url
from .stats import tail

BATCHES_PER_S = 100


def trials(sandbox: Sandbox, backend: str, count: int, log: Any) -> dict[str, Any]:
    from dltrack import Watcher
    from dltrack.backends import open_broker
    from dltrack.wire.protocol import STOP, Command

    from . import driver
    from .watcher_before import former_stop_training

    broker_url = sandbox.broker_url(backend)
    key = sandbox.new_model(f"stop-{backend}")
    ctx = multiprocessing.get_context("spawn")
    requests, out = ctx.Queue(), ctx.Queue()
    child = ctx.Process(
        target=driver.serve_stops,
        args=(key, broker_url, sandbox.local_url, BATCHES_PER_S, requests, out),
        daemon=True,
    )
    child.start()
    watcher = Watcher(key, broker=broker_url, store=sandbox.local_url, sender="bench").start()
    broker = open_broker(broker_url)
    paths = ("watcher", "watcher_before", "send_command")
    samples: dict[str, list[float]] = {path: [] for path in (*paths, "watcher_ack")}
    undelivered = 0
    rng = random.Random(1)
    try:
        for i in range(len(paths) * count):
            path = paths[i % len(paths)]
            requests.put("train")
            tid = out.get(timeout=120)["training_id"]

            def live(snap: dict[str, Any], tid: str = tid) -> bool:
                return any(t["training_id"] == tid for t in snap["trainings"])

            if watcher.wait_for(live, 30) is None:
                raise RuntimeError("the viewer never saw the training start")
            time.sleep(rng.uniform(0.0, 0.3))
            sent = time.monotonic()
            if path == "watcher":
                command_id = watcher.stop_training(tid)
            elif path == "watcher_before":
                former_stop_training(watcher, tid)
            else:
                delivered = broker.send_command(Command.new(STOP, key, tid, "bench"))
                undelivered += not delivered
            done = out.get(timeout=60)
            if done["stop_set_at"] is None:
                raise RuntimeError(f"the stop ({path}) never reached the training")
            samples[path].append(1000 * (done["stop_set_at"] - sent))
            if path == "watcher":

                def acked(snap: dict[str, Any], command_id: str = command_id) -> bool:
                    return any(
                        c["id"] == command_id and c["state"] == "acknowledged"
                        for c in snap["commands"]
                    )

                if watcher.wait_for(acked, 10) is not None:
                    samples["watcher_ack"].append(1000 * (time.monotonic() - sent))
            broker.pump(0.0)
    finally:
        requests.put(None)
        child.join(timeout=30)
        watcher.close()
        broker.close()
    result: dict[str, Any] = {name: tail(values) for name, values in samples.items()}
    result["undelivered"] = undelivered
    log(
        f"stop {backend}: Watcher.stop_training p50 {result['watcher']['p50']:.1f} p99 "
        f"{result['watcher']['p99']:.1f} ms (before the wake: p50"
        f" {result['watcher_before']['p50']:.1f} p99 {result['watcher_before']['p99']:.1f});"
        f" send_command p50 {result['send_command']['p50']:.1f}"
        f" p99 {result['send_command']['p99']:.1f} ms; ack shown p50 "
        f"{result['watcher_ack']['p50']:.1f} ms"
    )
    return result


def run(quick: bool, log: Any = print) -> dict[str, Any]:
    count = 5 if quick else 30
    result: dict[str, Any] = {"quick": quick, "trials": count, "backends": {}}
    with Sandbox("stop") as sandbox:
        for backend in ("local", "amqp"):
            if backend == "amqp" and amqp_url() is None:
                result["backends"][backend] = {"skipped": "DLTRACK_TEST_AMQP_URL is not set"}
                continue
            result["backends"][backend] = trials(sandbox, backend, count, log)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 5 stops per path")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)
    result = run(args.quick)
    if args.out:
        with open(args.out, "w") as out:
            json.dump(result, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
