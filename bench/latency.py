"""Batch end in a training process -> what a viewer in another process knows, p50/p99.

A child process drives a real Tracker's hooks from a paced plain-Python loop (10, 100 and 1000
batches/s); the parent watches it twice, through a raw `Broker.subscribe_updates` feed parsed
with `protocol.parse_update`, and through a real `Watcher` listener (what the widget and
`dltrack watch` get, at most 12 calls/s). Two figures per path:

- freshness: for every batch, the time from its end to the first update that reports it or a
  later batch. It includes the wait for the next coalesced progress message (the Tracker sends
  at most 10/s), so at high batch rates it is bounded below by that design choice.
- age: for every update that arrives, how long ago the batch it reports ended: the staleness of
  what the viewer shows at that moment (the pipeline's own delay, coalescing aside).

    python -m bench.latency [--quick] [--out results.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import sys
import time
from typing import Any

from .observe import RawFeed, WatcherView, ages, freshness
from .sandbox import Sandbox, amqp_url
from .stats import tail

RATES = (10, 100, 1000)


def one_run(
    sandbox: Sandbox,
    backend: str,
    rate: int,
    seconds: float,
    pacing: str = "current",
    listener: str = "current",
) -> dict[str, Any]:
    """One training watched both ways. `pacing="send-time"`: the Tracker's former progress
    pacing (in the child); `listener="former"`: the Watcher's former listener pacing (here)."""
    from . import driver
    from .watcher_before import former_listener_pacing

    broker = sandbox.broker_url(backend)
    key = sandbox.new_model(f"latency-{backend}-{rate}")
    steps = max(10, rate * 5)  # 5 s epochs
    ctx = multiprocessing.get_context("spawn")
    ready, go, out = ctx.Event(), ctx.Event(), ctx.Queue()
    child = ctx.Process(
        target=driver.train,
        args=(key, broker, sandbox.local_url, rate, seconds, steps, ready, go, out, pacing),
        daemon=True,
    )
    child.start()
    raw = RawFeed(broker, key).start()
    with former_listener_pacing() if listener == "former" else contextlib.nullcontext():
        view = WatcherView(broker, sandbox.local_url, key).start()
    raw.steps = view.steps = steps
    if not ready.wait(120):
        raise RuntimeError("the training process did not start")
    go.set()
    result = out.get(timeout=seconds + 120)
    child.join(timeout=30)
    time.sleep(1.0)  # the last updates
    raw.close()
    view.close()
    tid = result["training_id"]
    # Every update of this model is this training's (a fresh model per run).
    ends = result["ends"]
    row: dict[str, Any] = {"batches": len(ends), "seconds": ends[-1] - ends[0] if ends else 0}
    for name, seen in (("raw", raw.seen), ("watcher", view.seen)):
        fresh = freshness(ends, seen)
        row[name] = {
            "freshness_ms": tail([1000 * s for s in fresh]),
            "age_ms": tail([1000 * s for s in ages(seen)]),
            "unreported_batches": len(ends) - len(fresh),
            "updates": len(seen),
        }
    row["raw"]["messages"] = raw.messages
    row["raw"]["by_type"] = raw.by_type
    row["raw"]["updates_per_s"] = raw.by_type.get("progress", 0) / max(row["seconds"], 1e-9)
    row["watcher"]["listener_calls"] = view.calls
    row["training_id"] = tid
    return row


def run(quick: bool, log: Any = print) -> dict[str, Any]:
    seconds = {10: 4.0, 100: 3.0, 1000: 3.0} if quick else {10: 20.0, 100: 10.0, 1000: 10.0}
    result: dict[str, Any] = {"quick": quick, "backends": {}}
    with Sandbox("latency") as sandbox:
        for backend in ("local", "amqp"):
            if backend == "amqp" and amqp_url() is None:
                result["backends"][backend] = {"skipped": "DLTRACK_TEST_AMQP_URL is not set"}
                continue
            rows = {}
            for rate in RATES:
                row = one_run(sandbox, backend, rate, seconds[rate])
                rows[str(rate)] = row
                r, w = row["raw"], row["watcher"]
                log(
                    f"latency {backend} {rate}/s: raw freshness p50 "
                    f"{r['freshness_ms']['p50']:.1f} p99 {r['freshness_ms']['p99']:.1f} ms, age "
                    f"p50 {r['age_ms']['p50']:.1f} p99 {r['age_ms']['p99']:.1f}; watcher "
                    f"freshness p50 {w['freshness_ms']['p50']:.1f} p99 "
                    f"{w['freshness_ms']['p99']:.1f}, age p50 {w['age_ms']['p50']:.1f} "
                    f"p99 {w['age_ms']['p99']:.1f} ms; {r['updates_per_s']:.1f} progress/s"
                )
            result["backends"][backend] = rows
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 3-4 s per rate")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)
    result = run(args.quick)
    if args.out:
        with open(args.out, "w") as out:
            json.dump(result, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
