"""Batch end in a training process -> what a viewer in another process knows, p50/p99.

A child process drives a real Tracker at 10, 100 and 1000 batches/s, stamping each batch end
into the logs (`t_sent`); this process watches through a raw update feed and a real Watcher and
derives *age* (per update: how old the batch it shows is) and *freshness* (per batch: how long
until an update showed it). docs/benchmarks.md, section 2.
"""

from __future__ import annotations

import time
from typing import Any

from . import driver, runner
from .observe import RawFeed, WatcherView, ages, freshness
from .runner import log, num, pair, table, tail
from .sandbox import Sandbox, backends

RATES = (10, 100, 1000)
HEADER = (
    "broker | batches/s | age raw p50 / p99 ms | age watcher p50 / p99 ms | freshness raw p50 /"
    " p99 ms | freshness watcher p50 / p99 ms | progress msgs/s | listener calls/s"
)


def one_run(sandbox: Sandbox, backend: str, rate: int, seconds: float) -> dict[str, Any]:
    """One training, on a model of its own, watched both ways."""
    broker = sandbox.broker_url(backend)
    key = sandbox.new_model(f"latency-{backend}-{rate}")
    steps = max(10, rate * 5)
    ready, go, out = driver.CTX.Event(), driver.CTX.Event(), driver.CTX.Queue()
    args = (key, broker, sandbox.store_url, 1, rate, seconds, steps, ready, go, out)
    child = driver.start(driver.train, *args)
    raw = RawFeed(broker, key, steps).start()
    view = WatcherView(broker, sandbox.store_url, key, steps).start()
    if not ready.wait(120):
        raise RuntimeError("the training process did not start")
    go.set()
    ends = out.get(timeout=seconds + 120)["ends"]
    child.join(timeout=30)
    time.sleep(1.0)  # the last updates
    raw.close()
    view.close()
    span = max(ends[-1] - ends[0], 1e-9)
    row: dict[str, Any] = {"batches": len(ends)}
    for name, seen in (("raw", raw.seen), ("watcher", view.seen)):
        row[name] = {
            "freshness_ms": tail([1000 * s for s in freshness(ends, seen)]),
            "age_ms": tail([1000 * s for s in ages(seen)]),
        }
    row["raw"]["by_type"] = raw.by_type
    row["progress_per_s"] = raw.by_type.get("progress", 0) / span
    calls = [t for t in view.calls if ends[0] <= t <= ends[-1]]
    row["listener_calls_per_s"] = len(calls) / span
    return row


def run(quick: bool) -> dict[str, Any]:
    seconds = {10: 4.0, 100: 3.0, 1000: 3.0} if quick else {10: 20.0, 100: 10.0, 1000: 10.0}
    result: dict[str, Any] = {}
    with Sandbox("latency") as sandbox:
        for backend, why in backends().items():
            result[backend] = {"skipped": why} if why else {}
            for rate in [] if why else RATES:
                row = result[backend][str(rate)] = one_run(sandbox, backend, rate, seconds[rate])
                ages_ms = pair(row["raw"]["age_ms"]), pair(row["watcher"]["age_ms"])
                log(f"latency {backend} {rate}/s: age raw {ages_ms[0]}, watcher {ages_ms[1]} ms")
    return result


def tables(result: dict[str, Any]) -> str:
    rows: list[list[object]] = []
    for backend, by_rate in result.items():
        if "skipped" in by_rate:
            rows.append([backend, "not run", by_rate["skipped"], "", "", "", "", ""])
            continue
        for rate, r in by_rate.items():
            raw, w = r["raw"], r["watcher"]
            progress = f"{num(r['progress_per_s'])} ({r['batches']} batches)"
            ages_ms = [pair(raw["age_ms"]), pair(w["age_ms"])]
            fresh_ms = [pair(raw["freshness_ms"]), pair(w["freshness_ms"])]
            rows.append(
                [backend, rate, *ages_ms, *fresh_ms, progress, num(r["listener_calls_per_s"])]
            )
    return table(HEADER, rows)


if __name__ == "__main__":
    runner.main(run, tables, __doc__)
