"""Before/after for the two rate limits between a batch and a viewer.

1. The Tracker's progress pacing (callback/dltrack/broker_link.py). Before: a progress message
   went out once `PROGRESS_INTERVAL_S` had passed since the previous *send*, so sends drifted
   behind the batches: at ~10 batches/s each batch waited up to a whole interval for its
   message. After: paced by the batches' own end times.
2. The Watcher's listener pacing (callback/dltrack/watcher.py), the same drift one step later:
   before, a change was passed on only after a whole feed poll; after, the moment the rate
   limit allows (bench/watcher_before.py has the former loop).

Three variants, alternated at 10 batches/s on both backends: both former, the Tracker fixed,
both fixed (the former versions swapped in, each in its own process).

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
# (name, Tracker pacing in the training process, Watcher listener pacing in the viewer)
VARIANTS = (
    ("before", "send-time", "former"),
    ("tracker fixed", "current", "former"),
    ("both fixed", "current", "current"),
)


def _send_time_pacing(self: Any, now: float) -> None:
    """BrokerLink._publish_progress as it was before the change (verbatim logic)."""
    import dltrack.training.broker_link as link
    from dltrack.wire.protocol import PROGRESS, clean_logs

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
    import dltrack.training.broker_link as link

    link.BrokerLink._publish_progress = _send_time_pacing


def run(quick: bool, log: Any = print) -> dict[str, Any]:
    from .latency import one_run

    rounds, seconds = (1, 4.0) if quick else (3, 8.0)
    backends = ["local"] + (["amqp"] if amqp_url() else [])
    samples: dict[str, dict[str, list[dict[str, Any]]]] = {}
    with Sandbox("pacing") as sandbox:
        for r in range(rounds):
            for backend in backends:
                # The order rotates between rounds, so no variant always runs first.
                for name, pacing, listener in VARIANTS[r % 3 :] + VARIANTS[: r % 3]:
                    row = one_run(sandbox, backend, RATE, seconds, pacing, listener)
                    samples.setdefault(backend, {}).setdefault(name, []).append(row)
                    log(
                        f"pacing {backend} {name}: age p50 {row['raw']['age_ms']['p50']:.1f}"
                        f" p99 {row['raw']['age_ms']['p99']:.1f} ms, watcher age p50"
                        f" {row['watcher']['age_ms']['p50']:.1f} p99"
                        f" {row['watcher']['age_ms']['p99']:.1f} ms,"
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
                    ("watcher_age_p99_ms", "watcher", "age_ms", "p99"),
                )
            }
            | {
                "progress_per_s": statistics.median(row["raw"]["updates_per_s"] for row in rows),
                # Listener calls over the Watcher's life (a second or so more than the run,
                # so a little high): what reaches the widget (limit: 12/s, formerly 10/s).
                "listener_calls_per_s": statistics.median(
                    row["watcher"]["listener_calls"] / max(row["seconds"], 1e-9) for row in rows
                ),
            }
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
