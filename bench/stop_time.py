"""Stop sent -> `stop_training` set in the training process, p50/p99, both backends.

A child process runs trainings on demand (a real Tracker at 100 batches/s); once the viewer
sees one, this process waits a random 0-300 ms, stamps the time and stops it, in turn through
`Watcher.stop_training` and `Broker.send_command`; the child stamps when `stop_training` is set.
docs/benchmarks.md, section 3.
"""

from __future__ import annotations

import random
import threading
import time
from functools import partial
from typing import Any

from . import driver, runner
from .runner import log, pair, table, tail
from .sandbox import Sandbox, backends

BATCHES_PER_S = 100
PATHS = ("watcher", "send_command")


def _live(training_id: str, snap: Any) -> bool:
    """The viewer has live news from the training (so its link to the broker is up), not
    only its row in the store: a store that pushes rows (Firestore) can show a training
    before its broker connection is made, and a stop sent then finds no one to take it."""
    return any(t["training_id"] == training_id and t["current"] for t in snap["trainings"])


def _acked(command_id: str, snap: Any) -> bool:
    # A stop carried out reports `done` after `acknowledged`; both may come in one update.
    answered = ("acknowledged", "done")
    return any(c["id"] == command_id and c["state"] in answered for c in snap["commands"])


def _wait_ack(watcher: Any, command_id: str, acked_at: list[float]) -> None:
    if watcher.wait_for(partial(_acked, command_id), 10):
        acked_at.append(time.monotonic())


def trials(sandbox: Sandbox, backend: str, count: int) -> dict[str, Any]:
    from dltrack import Watcher
    from dltrack.backends import open_broker
    from dltrack.wire.protocol import STOP, Command

    broker_url = sandbox.broker_url(backend)
    key = sandbox.new_model(f"stop-{backend}")
    requests, out = driver.CTX.Queue(), driver.CTX.Queue()
    args = (key, broker_url, sandbox.store_url, BATCHES_PER_S, requests, out)
    child = driver.start(driver.serve_stops, *args)
    watcher = Watcher(key, broker=broker_url, store=sandbox.store_url, sender="bench").start()
    samples: dict[str, list[float]] = {path: [] for path in (*PATHS, "watcher_ack")}
    undelivered = 0
    rng = random.Random(1)
    try:
        for i in range(len(PATHS) * count):
            path = PATHS[i % len(PATHS)]
            requests.put("train")
            tid = out.get(timeout=120)["training_id"]
            if watcher.wait_for(partial(_live, tid), 30) is None:
                raise RuntimeError("the viewer never saw the training start")
            # A connection of its own per stop: an idle one would need servicing in between.
            broker = open_broker(broker_url) if path == "send_command" else None
            time.sleep(rng.uniform(0.0, 0.3))
            sent = time.monotonic()
            acked_at: list[float] = []
            if broker is None:
                command_id = watcher.stop_training(tid)
                # Waited for alongside: the child reports the stop only once its training has
                # ended (through a proxied store, several round trips later).
                ack_wait = threading.Thread(
                    target=_wait_ack, args=(watcher, command_id, acked_at), daemon=True
                )
                ack_wait.start()
            else:
                undelivered += not broker.send_command(Command.new(STOP, key, tid, "bench"))
            done = out.get(timeout=60)
            if done["stop_set_at"] is None:
                raise RuntimeError(f"the stop ({path}) never reached the training")
            samples[path].append(1000 * (done["stop_set_at"] - sent))
            if broker is not None:
                broker.close()
            else:
                ack_wait.join(15)
                if acked_at:
                    samples["watcher_ack"].append(1000 * (acked_at[0] - sent))
    finally:
        requests.put(None)
        child.join(timeout=30)
        watcher.close()
    result: dict[str, Any] = {name: tail(values) for name, values in samples.items()}
    result["stops"] = len(PATHS) * count
    result["undelivered"] = undelivered
    log(f"stop {backend}: " + ", ".join(f"{p} {pair(result[p])} ms" for p in samples))
    return result


def run(quick: bool) -> dict[str, Any]:
    count = 5 if quick else 30
    with Sandbox("stop") as sandbox:
        return {
            backend: {"skipped": why} if why else trials(sandbox, backend, count)
            for backend, why in backends().items()
        }


def tables(result: dict[str, Any]) -> str:
    header = "broker | Watcher.stop_training p50 / p99 ms | Broker.send_command p50 / p99 ms"
    rows = [
        [b, "not run", r["skipped"], "", ""]
        if "skipped" in r
        else [b, pair(r["watcher"]), pair(r["send_command"]), pair(r["watcher_ack"]), r["stops"]]
        for b, r in result.items()
    ]
    return table(header + " | ack shown p50 / p99 ms | stops", rows)


if __name__ == "__main__":
    runner.main(run, tables, __doc__)
