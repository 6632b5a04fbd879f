"""CPU a paused training costs: a real Keras fit() in a child process, paused for a while.

Run: python bench/pause_cpu.py [--seconds 10]
Prints the child's CPU seconds per wall second while training and while paused (from
/proc/PID/stat, all its threads: the training thread waiting on an Event, the broker thread
heartbeating, the store thread, TensorFlow's pools).
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


def cpu_share(pid: int, seconds: float) -> float:
    """The share of one core the process used over the next `seconds`."""
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    os.environ["DLTRACK_HOME"] = tempfile.mkdtemp(prefix="dltrack-bench-")
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
            figures = {"training": cpu_share(child.pid, args.seconds)}
            pause = w.pause()
            w.wait_for(
                lambda s: any(c["id"] == pause and c["state"] == "done" for c in s["commands"]), 30
            )
            figures["paused"] = cpu_share(child.pid, args.seconds)
            w.stop_training()
        child.wait(60)
    finally:
        if child.poll() is None:
            child.kill()
    for phase, share in figures.items():
        print(f"{phase:<9} {share * 100:6.2f}% of one core ({args.seconds:g} s)")


if __name__ == "__main__":
    main()
