"""The benchmarks' own logic: run orders, the figures they derive, and their command line.

No timing is asserted here (timings belong in docs/benchmarks.md); this checks that what the
benchmarks compute from their samples is right, and that a saved result prints its tables.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench import runner
from bench.observe import ages, freshness
from bench.overhead import alternate, neighbour_baseline, schedule

ROOT = Path(__file__).resolve().parent.parent


def test_every_run_has_a_no_callback_neighbour_and_the_order_rotates() -> None:
    names = ["none", "a", "b", "c"]
    for round_no in range(3):
        order = schedule(names, round_no)
        assert sorted(n for n in order if n != "none") == ["a", "b", "c"]
        for i, name in enumerate(order):
            if name != "none":
                assert "none" in (order[i - 1], order[i + 1])
    assert schedule(names, 0)[1] != schedule(names, 1)[1]
    assert alternate(["a", "b"], 2) == ["none", "a", "none", "b", "none", "a", "none", "b", "none"]


def test_a_ratio_is_taken_against_the_mean_of_both_neighbours() -> None:
    runs = [("none", 1.0, 2.0), ("a", 5.0, 5.0), ("b", 5.0, 5.0), ("none", 3.0, 4.0)]
    assert neighbour_baseline(runs, 1) == (2.0, 3.0)
    assert neighbour_baseline(runs, 2) == (2.0, 3.0)


def test_freshness_is_the_wait_for_the_first_update_that_reaches_a_batch() -> None:
    ends = [1.0, 2.0, 3.0]  # batches 1, 2, 3 end at these times
    seen = [(2.5, 2, 2.0), (3.25, 3, 3.0)]  # (received, newest batch reported, its end stamp)
    assert freshness(ends, seen) == [1.5, 0.5, 0.25]
    assert freshness([1.0, 2.0], [(1.5, 1, None)]) == [0.5]  # batch 2 never shown: left out
    assert ages(seen) == [0.5, 0.25]


def test_percentiles_interpolate_and_tables_are_markdown() -> None:
    assert runner.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert runner.tail([1.0, 2.0, 3.0])["max"] == 3.0
    assert runner.num(float("nan")) == "-"
    assert runner.table("a | b", [[1, "x"]]) == "| a | b |\n|---|---|\n| 1 | x |"


def test_a_saved_result_prints_its_tables(tmp_path: Path) -> None:
    r = {"p50": 5.0, "p99": 9.0, "max": 9.0}
    saved = {
        "meta": {"machine": {"date": "2026-12-01 08:40 UTC"}, "quick": True},
        "result": {
            "local": {"watcher": r, "send_command": r, "watcher_ack": r, "stops": 10},
            "amqp": {"skipped": "needs RabbitMQ"},
        },
    }
    path = tmp_path / "stop.json"
    path.write_text(json.dumps(saved))
    command = [sys.executable, "-m", "bench.stop_time", "--from", str(path)]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "<!-- 2026-12-01 08:40 UTC, --quick: too short for conclusions -->" in out
    assert "| local | 5.0 / 9.0 | 5.0 / 9.0 | 5.0 / 9.0 | 10 |" in out
    assert "| amqp | not run | needs RabbitMQ |" in out
