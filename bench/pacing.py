"""Before/after for the Tracker's progress pacing (callback/dltrack/broker_link.py).

Before: a progress message went out once `PROGRESS_INTERVAL_S` had passed since the previous
*send*. Sends then drift behind the batches: at ~10 batches/s each batch waited up to a whole
interval for its message. After: pacing by the batches' own end times, so a batch that ended an
interval after the last one reported goes out at once. This part runs both, alternately, at
10 batches/s on both backends (the former is swapped in, in the training process only).

    python -m bench.pacing [--quick] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from typing import Any

from .sandbox import Sandbox, amqp_url

RATE = 10


def _send_time_pacing(self: Any, now: float) -> None:
    """BrokerLink._publish_progress as it was before the change (verbatim logic)."""
    import dltrack.broker_link as link
    from dltrack.protocol import PROGRESS, clean_logs

    latest = self.session.latest
    if latest is None or now - getattr(self, "progress_at", 0.0) < link.PROGRESS_INTERVAL_S:
        return
    where = (latest.epoch, latest.step)
    if where == self.sent_progress:
        return
    self.sent_progress = where
    self.progress_at = now
    self._publish(
        PROGRESS,
        epoch=latest.epoch,
        step=latest.step,
        steps=latest.steps,
        logs=clean_logs(latest.logs),
    )


def use_send_time_pacing() -> None:
    import dltrack.broker_link as link

    link.BrokerLink._publish_progress = _send_time_pacing


def run(quick: bool, log: Any = print) -> dict[str, Any]:
    from .latency import one_run

    rounds, seconds = (1, 4.0) if quick else (3, 8.0)
    backends = ["local"] + (["amqp"] if amqp_url() else [])
    samples: dict[str, dict[str, list[dict[str, Any]]]] = {}
    with Sandbox("pacing") as sandbox:
        for r in range(rounds):
            for backend in backends:
                order = ("send-time", "current") if r % 2 == 0 else ("current", "send-time")
                for pacing in order:
                    row = one_run(sandbox, backend, RATE, seconds, pacing)
                    samples.setdefault(backend, {}).setdefault(pacing, []).append(row)
                    log(
                        f"pacing {backend} {pacing}: age p50 {row['raw']['age_ms']['p50']:.1f}"
                        f" p99 {row['raw']['age_ms']['p99']:.1f} ms,"
                        f" {row['raw']['updates_per_s']:.2f} progress/s"
                    )
    result: dict[str, Any] = {"quick": quick, "rate": RATE, "rounds": rounds, "backends": {}}
    for backend, by_pacing in samples.items():
        result["backends"][backend] = {
            pacing: {
                name: statistics.median(row[path][measure][q] for row in rows)
                for name, path, measure, q in (
                    ("age_p50_ms", "raw", "age_ms", "p50"),
                    ("age_p99_ms", "raw", "age_ms", "p99"),
                    ("freshness_p50_ms", "raw", "freshness_ms", "p50"),
                    ("watcher_age_p50_ms", "watcher", "age_ms", "p50"),
                )
            }
            | {"progress_per_s": statistics.median(row["raw"]["updates_per_s"] for row in rows)}
            for pacing, rows in by_pacing.items()
        }
    if not amqp_url():
        result["backends"]["amqp"] = {"skipped": "DLTRACK_TEST_AMQP_URL is not set"}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: one round")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)
    result = run(args.quick)
    if args.out:
        with open(args.out, "w") as out:
            json.dump(result, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
