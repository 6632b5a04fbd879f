"""Run every benchmark, each in a process of its own, and rewrite docs/benchmarks.md and
docs/benchmarks.png from the results.

    python tools/services.py run -- .venv/bin/python -m bench.run_all [--quick]   (make bench)
    python -m bench.run_all --only overhead,latency      some parts (overhead, latency, pacing,
                                                         stop_time, scale)
    python -m bench.run_all --report-from DIR            rewrite the docs from earlier results

A part that fails is reported as such in the document; the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import machine, report

PARTS = ("overhead", "latency", "pacing", "stop_time", "scale")
ROOT = Path(__file__).resolve().parent.parent
PART_TIMEOUT_S = 1800


def _shown(path: str) -> str:
    """The interpreter as typed from the repository root (`.venv/bin/python`), else as is."""
    try:
        return str(Path(path).relative_to(ROOT))
    except ValueError:
        return path


def run_part(part: str, quick: bool, results: Path) -> dict[str, Any]:
    out = results / f"{part}.json"
    command = [sys.executable, "-m", f"bench.{part}", "--out", str(out)]
    if quick:
        command.append("--quick")
    print(f"== {part}: {shlex.join(command)}", flush=True)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    started = time.monotonic()
    try:
        proc = subprocess.run(command, cwd=ROOT, env=env, timeout=PART_TIMEOUT_S)
        failed = None if proc.returncode == 0 else f"exited with status {proc.returncode}"
    except subprocess.TimeoutExpired:
        failed = f"did not finish in {PART_TIMEOUT_S} s"
    took = time.monotonic() - started
    if failed is None and out.exists():
        data = json.loads(out.read_text())
    else:
        data = {"failed": failed or "wrote no results"}
    data["took_s"] = took
    out.write_text(json.dumps(data, indent=1))
    print(f"== {part}: {data.get('failed', 'done')} in {took:.0f} s")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke runs of every part")
    parser.add_argument("--only", help="comma-separated parts to run: " + ", ".join(PARTS))
    parser.add_argument("--results", help="keep the JSON results in this folder")
    parser.add_argument("--report-from", help="skip the runs; report the results in this folder")
    parser.add_argument(
        "--docs", default=str(ROOT / "docs"), help="where benchmarks.md/.png go (default docs/)"
    )
    args = parser.parse_args(argv)
    if args.report_from:
        results = Path(args.report_from)
        meta = json.loads((results / "meta.json").read_text())
    else:
        results = Path(args.results or tempfile.mkdtemp(prefix="dltrack-bench-"))
        results.mkdir(parents=True, exist_ok=True)
        parts = args.only.split(",") if args.only else list(PARTS)
        unknown = set(parts) - set(PARTS)
        if unknown:
            parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
        started = time.monotonic()
        for part in parts:
            run_part(part, args.quick, results)
        earlier = results / "meta.json"
        meta = {
            "machine": machine.describe(),
            "command": shlex.join([_shown(sys.executable), "-m", "bench.run_all", *sys.argv[1:]]),
            "quick": args.quick,
            "took_s": time.monotonic() - started,
            "amqp": bool(os.environ.get("DLTRACK_TEST_AMQP_URL")),
        }
        if args.only and earlier.exists():  # some parts again: the report says so
            before = json.loads(earlier.read_text())
            meta["command"] = f"{before['command']}`, then `{meta['command']}"
            meta["took_s"] += before.get("took_s", 0)
            meta["machine"]["date"] = f"{before['machine']['date']}, {meta['machine']['date']}"
        (results / "meta.json").write_text(json.dumps(meta, indent=1))
    data = {}
    for part in PARTS:
        path = results / f"{part}.json"
        data[part] = json.loads(path.read_text()) if path.exists() else None
    docs = Path(args.docs)
    report.write(docs / "benchmarks.md", docs / "benchmarks.png", meta, data)
    print(f"results in {results}; wrote {docs / 'benchmarks.md'} and {docs / 'benchmarks.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
