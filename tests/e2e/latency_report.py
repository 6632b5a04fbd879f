"""Summarise the click → answer latencies the browser tests recorded (docs/browser.md).

rm -f test-artifacts/latency.jsonl
for i in 1 2 3 4; do .venv/bin/pytest tests/e2e/test_stop.py -q -k "another or cell_runs"; done
.venv/bin/python -m tests.e2e.latency_report
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2] / "test-artifacts" / "latency.jsonl"


def main() -> int:
    if not SOURCE.exists():
        print(f"no measurements: {SOURCE} (run the browser tests first)")
        return 1
    answered: dict[str, list[float]] = defaultdict(list)
    requested: dict[str, list[float]] = defaultdict(list)
    for line in SOURCE.read_text().splitlines():
        row = json.loads(line)
        if row.get("answered_ms") is not None:
            answered[row["test"]].append(row["answered_ms"])
        if row.get("requested_ms") is not None:
            requested[row["test"]].append(row["requested_ms"])
    print("| case | n | click to acknowledgement: median (min to max) | to 'stop requested' |")
    print("|---|---|---|---|")
    for case, values in sorted(answered.items()):
        shown = requested.get(case)
        feedback = f"{statistics.median(shown):.0f} ms" if shown else "n/a"
        print(
            f"| {case} | {len(values)} | {statistics.median(values):.0f} ms "
            f"({min(values):.0f} to {max(values):.0f}) | {feedback} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
