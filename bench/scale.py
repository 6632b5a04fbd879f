"""N = 1, 10, 100 concurrent trainings on one RabbitMQ, with several viewers.

Trainings are real Trackers driven by fast plain-Python loops (200 batches/s each, 1 s
epochs) spread over a few processes; all belong to one model, so every viewer follows all of
them: three real Watchers, each in a process of its own, plus a raw feed in this process that
counts messages and bytes and times each progress update's age. The Store every Tracker writes
to is wrapped, and its calls counted per training: they must grow with epochs, never with
batches. RabbitMQ's own CPU is read from /proc.

    python -m bench.scale [--quick] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

from .observe import RawFeed
from .sandbox import Sandbox, amqp_url
from .stats import tail

SIZES = (1, 10, 100)
RATE = 200.0  # batches/s per training
STEPS = 200  # batches per epoch: one epoch a second
VIEWERS = 3
MAX_PROCESSES = 4


def beam_cpu_s() -> float | None:
    """CPU seconds used so far by the RabbitMQ server (every beam.smp process here)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, found = 0.0, False
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if b"beam.smp" not in (proc / "cmdline").read_bytes():
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        found = True
    return total if found else None


def one_size(sandbox: Sandbox, n: int, seconds: float, log: Any) -> dict[str, Any]:
    from . import driver

    broker = sandbox.broker_url("amqp")
    key = sandbox.new_model(f"scale-{n}")
    ctx = multiprocessing.get_context("spawn")
    go, done, out, viewer_out = ctx.Event(), ctx.Event(), ctx.Queue(), ctx.Queue()
    viewers = []
    for _ in range(VIEWERS):
        ready = ctx.Event()
        p = ctx.Process(
            target=driver.view,
            args=(key, broker, sandbox.local_url, ready, done, viewer_out),
            daemon=True,
        )
        p.start()
        viewers.append((p, ready))
    processes = min(n, MAX_PROCESSES)
    shares = [n // processes + (i < n % processes) for i in range(processes)]
    trainers = []
    for share in shares:
        ready = ctx.Event()
        p = ctx.Process(
            target=driver.train_many,
            args=(key, broker, sandbox.local_url, share, RATE, seconds, STEPS, ready, go, out),
            daemon=True,
        )
        p.start()
        trainers.append((p, ready))
    for _p, ready in viewers + trainers:
        if not ready.wait(180):
            raise RuntimeError("a benchmark process did not start")
    raw = RawFeed(broker, key).start()
    raw.steps = STEPS
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
        "rabbitmq_cpu_pct": (
            None if beam0 is None or beam1 is None else 100 * (beam1 - beam0) / wall
        ),
        "viewer_cpu_pct": [100 * v["cpu_s"] / v["wall_s"] for v in seen],
        "viewer_trainings_seen": [v["trainings_seen"] for v in seen],
    }
    log(
        f"scale N={n}: {row['messages_per_s']:.0f} msg/s published "
        f"({row['deliveries_per_s']:.0f} delivered), "
        f"{row['progress_per_training_per_s']:.1f} progress/s per training, "
        f"{row['bytes_per_epoch_per_training']:.0f} B/epoch/training, store writes/training "
        f"{row['store_writes_per_training']['median']} for {epochs} epochs and {batches} batches, "
        f"progress age p50 {row['progress_age_ms']['p50']:.0f} p99 "
        f"{row['progress_age_ms']['p99']:.0f} ms, RabbitMQ CPU "
        f"{row['rabbitmq_cpu_pct'] or float('nan'):.0f}%, viewers CPU "
        f"{', '.join(f'{c:.0f}%' for c in row['viewer_cpu_pct'])}, trainers' loop late p99 "
        f"{row['trainer_loop_late_p99_ms']:.0f} ms"
    )
    return row


def run(quick: bool, log: Any = print) -> dict[str, Any]:
    seconds = 5.0 if quick else 20.0
    result: dict[str, Any] = {
        "quick": quick,
        "rate": RATE,
        "steps": STEPS,
        "viewers": VIEWERS,
        "sizes": {},
    }
    if amqp_url() is None:
        result["skipped"] = "DLTRACK_TEST_AMQP_URL is not set"
        return result
    with Sandbox("scale") as sandbox:
        for n in SIZES:
            result["sizes"][str(n)] = one_size(sandbox, n, seconds, log)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 5 s per size")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)
    result = run(args.quick)
    if args.out:
        with open(args.out, "w") as out:
            json.dump(result, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
