"""N = 1, 10, 100 concurrent trainings on one RabbitMQ, with several viewers.

Real Trackers driven by plain-Python loops (200 batches/s each, 1 s epochs) in up to 4
processes, all of one model; three real Watchers, each in a process of its own, and a raw feed
here that counts messages and bytes and times each progress update's age. Store writes are
counted per training (they must grow with epochs, never with batches); RabbitMQ's CPU is read
from /proc. docs/benchmarks.md, section 4.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from . import driver, runner
from .observe import RawFeed
from .runner import log, num, pair, table, tail
from .sandbox import NO_AMQP, Sandbox, amqp_url

SIZES = (1, 10, 100)
RATE = 200.0  # batches/s per training
STEPS = 200  # batches per epoch: one epoch a second
VIEWERS = 3
MAX_PROCESSES = 4


def beam_cpu_s() -> dict[int, float]:
    """CPU seconds used so far by each RabbitMQ server process (beam.smp) here, by pid."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if b"beam.smp" not in (proc / "cmdline").read_bytes():
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(proc.name)] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return found


def one_size(sandbox: Sandbox, n: int, seconds: float) -> dict[str, Any]:
    broker = sandbox.broker_url("amqp")
    key = sandbox.new_model(f"scale-{n}")
    ctx = driver.CTX
    go, done, out, viewer_out = ctx.Event(), ctx.Event(), ctx.Queue(), ctx.Queue()
    viewers, trainers = [], []
    for _ in range(VIEWERS):
        ready = ctx.Event()
        args = (key, broker, sandbox.local_url, ready, done, viewer_out)
        viewers.append((driver.start(driver.view, *args), ready))
    processes = min(n, MAX_PROCESSES)
    for i in range(processes):
        share = n // processes + (i < n % processes)
        ready = ctx.Event()
        work = (key, broker, sandbox.local_url, share, RATE, seconds, STEPS, ready, go, out)
        trainers.append((driver.start(driver.train, *work), ready))
    for _p, ready in viewers + trainers:
        if not ready.wait(180):
            raise RuntimeError("a benchmark process did not start")
    raw = RawFeed(broker, key, STEPS).start()
    beam0, t0 = beam_cpu_s(), time.monotonic()
    go.set()
    results = [out.get(timeout=seconds + 300) for _ in trainers]
    wall = time.monotonic() - t0
    beam1 = beam_cpu_s()
    time.sleep(1.0)
    raw.close()
    done.set()
    seen = [viewer_out.get(timeout=60) for _ in viewers]
    for p, _ in viewers + trainers:
        p.join(timeout=30)

    epochs = results[0]["epochs"]
    batches = results[0]["batches"]
    ours = {tid for r in results for tid in r["training_ids"]}
    per_training: dict[str, int] = dict.fromkeys(ours, 0)
    by_method: dict[str, int] = {}
    for r in results:
        for tid, calls in r["store_calls"].items():
            if tid in per_training:
                per_training[tid] += sum(calls.values())
                for name, count in calls.items():
                    by_method[name] = by_method.get(name, 0) + count
    writes = sorted(per_training.values())
    # Only servers that ran throughout: another RabbitMQ node on a shared machine may come or go.
    both = beam0.keys() & beam1.keys()
    cpu = 100 * sum(beam1[p] - beam0[p] for p in both) / wall if both else None
    left = sum(r["left_in_spool"] for r in results)
    progress = raw.by_type.get("progress", 0)
    active = max(r["loop_s"] for r in results)  # the batches' span; rates are per that
    row = {
        "trainings": n,
        "processes": processes,
        "seconds": wall,
        "batches_per_training": batches,
        "epochs_per_training": epochs,
        "messages_per_s": raw.messages / active,
        "deliveries_per_s": raw.messages * (VIEWERS + 1) / active,
        "progress_per_training_per_s": progress / n / active,
        "bytes_per_epoch_per_training": raw.bytes / (n * epochs),
        "by_type": raw.by_type,
        "progress_age_ms": tail([1000 * (r - s) for r, _, s in raw.seen if s is not None]),
        "store_writes_per_training": {
            "median": writes[len(writes) // 2],
            "min": writes[0],
            "max": writes[-1],
            "by_method_total": by_method,
            "records_left_in_spool": left,
        },
        "trainer_cpu_s": sum(r["cpu_s"] for r in results),
        "trainer_cpu_per_training_pct": 100 * sum(r["cpu_s"] for r in results) / n / wall,
        "trainer_loop_late_p99_ms": max(r["late_p99_ms"] for r in results),
        "trainer_loop_s": max(r["loop_s"] for r in results),
        "rabbitmq_cpu_pct": cpu,
        "viewer_cpu_pct": [100 * v["cpu_s"] / v["wall_s"] for v in seen],
        "viewer_trainings_seen": [v["trainings_seen"] for v in seen],
    }
    log(f"scale N={n}: {row['messages_per_s']:.0f} msg/s published, RabbitMQ CPU {num(cpu, 0)}%")
    return row


def run(quick: bool) -> dict[str, Any]:
    if amqp_url() is None:
        return {"skipped": NO_AMQP}
    seconds = 5.0 if quick else 20.0
    with Sandbox("scale") as sandbox:
        return {"sizes": {str(n): one_size(sandbox, n, seconds) for n in SIZES}}


HEADER = (
    "N | msgs/s in / delivered | progress/s per training | bytes per epoch per training (one"
    " viewer) | store writes per training | progress age p50 / p99 ms | RabbitMQ CPU % | viewers'"
    " CPU % | tracker CPU % per training | driver loop late p99 ms"
)


def tables(result: dict[str, Any]) -> str:
    if "skipped" in result:
        return f"Not run: {result['skipped']}."
    rows = []
    for n, r in result["sizes"].items():
        w = r["store_writes_per_training"]
        writes = f"{w['median']} ({w['min']}-{w['max']}) for {r['epochs_per_training']} epochs,"
        rows.append(
            [
                n,
                f"{r['messages_per_s']:.0f} / {r['deliveries_per_s']:.0f}",
                num(r["progress_per_training_per_s"]),
                f"{r['bytes_per_epoch_per_training']:.0f}",
                f"{writes} {r['batches_per_training']} batches",
                pair(r["progress_age_ms"], digits=0),
                num(r["rabbitmq_cpu_pct"], 0),
                ", ".join(f"{c:.0f}" for c in r["viewer_cpu_pct"]),
                num(r["trainer_cpu_per_training_pct"], 2),
                num(r["trainer_loop_late_p99_ms"], 0),
            ]
        )
    return table(HEADER, rows)


if __name__ == "__main__":
    runner.main(run, tables, __doc__)
