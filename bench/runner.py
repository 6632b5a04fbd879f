"""What every benchmark shares: its command line, repeats, medians and spreads, tables.

A benchmark module defines `run(quick) -> dict` (JSON-able results) and `tables(result) -> str`
(markdown), and ends with `runner.main(run, tables, __doc__)`; see bench/__init__.py.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

Result = dict[str, Any]


def main(run: Callable[[bool], Result], tables: Callable[[Result], str], doc: str | None) -> None:
    """`python -m bench.NAME [--quick] [--out FILE.json] [--from FILE.json]`: run (or reload),
    write the JSON results, print the markdown tables (also to FILE.md beside --out)."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--from", dest="load", type=Path, help="print the tables of a JSON file")
    args = parser.parse_args()
    if args.load:
        saved = json.loads(args.load.read_text())
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        meta: dict[str, Any] = {"machine": machine(), "quick": args.quick}
        started = time.monotonic()
        saved = {"result": run(args.quick), "meta": meta}
        meta["took_s"] = round(time.monotonic() - started)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(saved, indent=1))
    meta = saved["meta"]
    quick = ", --quick: too short for conclusions" if meta["quick"] else ""
    text = f"<!-- {meta['machine']['date']}{quick} -->\n{tables(saved['result'])}"
    if args.out:
        args.out.with_suffix(".md").write_text(text + "\n")
    print(f"\n{text}")


def log(*parts: object) -> None:
    """Progress on stderr, so that stdout carries only the tables."""
    print(*parts, file=sys.stderr, flush=True)


def repeat(fn: Callable[[], object], times: int, warmup: int = 1) -> list[float]:
    """Seconds of each of `times` calls of `fn`, after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(times):
        t0 = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - t0)
    return seconds


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linearly interpolated; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median and quartiles of a few repeated measurements (never a mean: the machine is noisy)."""
    median = statistics.median(values) if values else math.nan
    return {"median": median, "q1": percentile(values, 25), "q3": percentile(values, 75)}


def tail(values: Sequence[float]) -> dict[str, float]:
    """p50/p99/max of many samples (latencies)."""
    worst = max(values, default=math.nan)
    return {"p50": percentile(values, 50), "p99": percentile(values, 99), "max": worst}


def num(value: float | None, digits: int = 1) -> str:
    """A figure for a table; `-` for none (NaN: no samples)."""
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def pair(d: dict[str, float], low: str = "p50", high: str = "p99", digits: int = 1) -> str:
    return f"{num(d[low], digits)} / {num(d[high], digits)}"


def ratio(s: dict[str, float] | None) -> str:
    """A median ratio with its interquartile range."""
    return f"**{s['median']:.3f}x** [{s['q1']:.3f}-{s['q3']:.3f}]" if s else "-"


def table(header: str, rows: Sequence[Sequence[object]]) -> str:
    """A markdown table; `header` as its cells are written there: "a | b | c"."""
    lines = [f"| {header} |", "|" + "---|" * len(header.split(" | "))]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """What the figures were measured on, for the document's header."""

    def version(distribution: str) -> str:
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            return "-"

    cpu = _proc("/proc/cpuinfo", "model name")
    ram = _proc("/proc/meminfo", "MemTotal")
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "cpu": cpu or platform.processor(),
        "ram_gib": round(int(ram.split()[0]) / 2**20) if ram else None,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        **{p: version(p) for p in ("tensorflow", "keras", "pika", "tqdm", "tensorboard", "mlflow")},
        "rabbitmq": _rabbitmq_version(),
    }


def _rabbitmq_version() -> str:
    """The RabbitMQ server's Debian package version, where there is one."""
    try:
        query = ["dpkg-query", "-W", "-f=${Version}", "rabbitmq-server"]
        return subprocess.run(query, capture_output=True, text=True, timeout=10).stdout or "-"
    except (OSError, subprocess.SubprocessError):
        return "-"


def _proc(path: str, field: str) -> str | None:
    """The first `field: value` of a /proc file (Linux), else None."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return None
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith(field)), None)
