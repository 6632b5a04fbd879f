"""CPU a paused training costs: a real Keras fit() in a child process, paused for a while.

Run: python bench/pause_cpu.py [--seconds 10] [--amqp]
Prints the child's CPU time used over the same wall time while training and while paused, and
its share of one core (from /proc/PID/stat, all its threads: the training thread waiting on an
Event, the broker thread heartbeating, the store thread, TensorFlow's pools). `--amqp` uses the
RabbitMQ at DLTRACK_TEST_AMQP_URL (`tools/services.py run --` provides one) instead of the
embedded default. Figures: docs/benchmarks.md, section 5. Never asserted in a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def cpu_used(pid: int, seconds: float) -> tuple[float, float]:
    """(CPU seconds, wall seconds) the process used over the next `seconds`."""
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return cpu_seconds(pid) - start_cpu, time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--amqp", action="store_true", help="RabbitMQ instead of the default")
    args = parser.parse_args()
    os.environ["DLTRACK_HOME"] = tempfile.mkdtemp(prefix="dltrack-bench-")
    if args.amqp:
        url = os.environ.get("DLTRACK_TEST_AMQP_URL")
        if not url:
            sys.exit("--amqp needs DLTRACK_TEST_AMQP_URL (run under tools/services.py run --)")
        os.environ["DLTRACK_BROKER_URL"] = url
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    sys.path.insert(0, str(ROOT))
    from dltrack import Watcher, create_model

    key = create_model("pause bench").key
    options = json.dumps({"delay": 0.01, "epochs": 10_000})
    child = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "control_child.py"), key, options]
    )
    try:
        with Watcher(key) as w:
            w.wait_for(lambda s: any(t["status"] == "running" for t in s["trainings"]), 60)
            time.sleep(2.0)  # past start-up and tracing
            figures = {"training": cpu_used(child.pid, args.seconds)}
            pause = w.pause()
            w.wait_for(
                lambda s: any(c["id"] == pause and c["state"] == "done" for c in s["commands"]), 30
            )
            figures["paused"] = cpu_used(child.pid, args.seconds)
            w.stop_training()
        child.wait(60)
    finally:
        if child.poll() is None:
            child.kill()
    broker = "amqp" if args.amqp else "embedded"
    for phase, (cpu, wall) in figures.items():
        print(
            f"{broker:<8} {phase:<9} {cpu:6.2f} s CPU in {wall:.1f} s = "
            f"{cpu / wall * 100:6.2f}% of one core"
        )


if __name__ == "__main__":
    main()
