"""A training process for the tests that kill one: a real Tracker driven by the fake loop.

    python -m tests.reliability.child_training KEY [--epochs N] [--steps N] [--step-delay S]

Broker and store come from DLTRACK_BROKER_URL / DLTRACK_STORE_URL (else the local default).
Prints `training_id=ID` once the training has begun.
"""

from __future__ import annotations

import argparse

from dltrack import Tracker
from tests.reliability.support import drive


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("model_key")
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--step-delay", type=float, default=0.02)
    args = parser.parse_args()
    tracker = Tracker(args.model_key)
    announced = False

    def announce(epoch: int, batch: int) -> None:
        nonlocal announced
        if not announced:
            print(f"training_id={tracker.training_id}", flush=True)
            announced = True

    drive(tracker, args.epochs, args.steps, args.step_delay, on_batch=announce)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
