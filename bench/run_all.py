"""Run every benchmark, each in a process of its own, and collect their tables (`make bench`).

    python tools/services.py run -- .venv/bin/python -m bench.run_all [--quick] [--only a,b]

Each part writes DIR/PART.json and DIR/PART.md (its markdown tables); DIR/tables.md holds
them all, with the machine they ran on, ready to paste into docs/benchmarks.md. A part that
fails is named as such; the others still run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

PARTS = ("overhead", "latency", "stop_time", "scale")
ROOT = Path(__file__).resolve().parent.parent
PART_TIMEOUT_S = 1800


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short smoke runs of every part")
    parser.add_argument("--only", help="comma-separated parts: " + ", ".join(PARTS))
    parser.add_argument("--results", type=Path, help="the folder for the results (default: new)")
    args = parser.parse_args()
    parts = args.only.split(",") if args.only else list(PARTS)
    if set(parts) - set(PARTS):
        parser.error(f"unknown parts: {', '.join(sorted(set(parts) - set(PARTS)))}")
    results = args.results or Path(tempfile.mkdtemp(prefix="dltrack-bench-"))
    results.mkdir(parents=True, exist_ok=True)
    sections, failed, machine = [], [], {}
    for part in parts:
        out = results / f"{part}.json"
        command = [sys.executable, "-m", f"bench.{part}", "--out", str(out)] + [
            "--quick"
        ] * args.quick
        print(f"== {part}: {' '.join(command)}", flush=True)
        try:
            code = subprocess.run(command, cwd=ROOT, timeout=PART_TIMEOUT_S).returncode
        except subprocess.TimeoutExpired:
            code = -1
        if code == 0:
            meta = json.loads(out.read_text())["meta"]
            machine = meta["machine"]
            took = f"{meta['took_s'] / 60:.1f} min"
            sections.append(f"## {part} ({took})\n\n{out.with_suffix('.md').read_text()}")
        else:
            failed.append(part)
            sections.append(f"## {part}\n\nFailed (status {code}; its output says why).\n")
    sections.insert(0, "Machine: " + ", ".join(f"{k} {v}" for k, v in machine.items()) + "\n")
    (results / "tables.md").write_text("\n".join(sections))
    print(f"\n{results / 'tables.md'}: paste into docs/benchmarks.md; failed: {failed or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
