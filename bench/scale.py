"""100 -> 1,000 concurrent trainings on one RabbitMQ, nobody watching and with 10 viewers.

Synthetic trainings (the product's broker thread over a real session, one connection each, 10
batches/s, 30 s epochs; bench/fleet.py) in processes of up to 250, grown step by step; at each
step a window with nobody watching, then one with 10 real Watchers on 10 different models
(one training each). Measured per window: messages/s published and delivered (counted by a
queue here bound to everything in the benchmark's own vhost), RabbitMQ's CPU and memory (its
server process, /proc), connections and queues (rabbitmqctl), the trainings' own CPU, and how
old the batch each viewer shows is. docs/benchmarks.md, section 4, and docs/cost.md, "Scale".
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from . import driver, fleet, runner
from .rabbit_stats import Vhost, machine_cpu, server_usage
from .runner import log, num, pair, table, tail
from .sandbox import NO_AMQP, Sandbox, amqp_url

PER_PROCESS = 250  # trainings per process: 500 threads (broker + relay each) and their GIL
VIEWERS = 10
PROCESS_FIGURES = ("trainings", "threads", "fds", "fd_limit", "rss_mib")


class Counter:
    """An exclusive queue bound to every update and command in the vhost: what is published,
    by message type, and how much of it concerns the watched models."""

    def __init__(self, url: str, watched: set[str]) -> None:
        self.url = url
        self.watched = watched  # model ids
        self.counts: dict[str, int] = {}
        self._closing = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-counter", daemon=True)

    def start(self) -> Counter:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the message counter did not connect")
        return self

    def _run(self) -> None:
        import pika

        from dltrack.backends.amqp_broker import COMMANDS_EXCHANGE, UPDATES_EXCHANGE

        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        channel = connection.channel()
        queue = channel.queue_declare("", exclusive=True).method.queue
        for exchange in (UPDATES_EXCHANGE, COMMANDS_EXCHANGE):
            channel.exchange_declare(exchange, exchange_type="topic", durable=True)
            channel.queue_bind(queue, exchange, "#")
        channel.basic_consume(queue, self._on_message, auto_ack=True)
        self._ready.set()
        while not self._closing.is_set():
            connection.process_data_events(time_limit=0.2)
        connection.close()

    def _on_message(self, _channel: Any, method: Any, _props: Any, _body: bytes) -> None:
        parts = method.routing_key.split(".")
        command = method.exchange != "dltrack.updates"
        kind = "command" if command else parts[-1]
        watched = "watched" if parts[0] in self.watched else "unwatched"
        for name in (kind, watched + (" command" if command else " update")):
            self.counts[name] = self.counts.get(name, 0) + 1

    def snapshot(self) -> dict[str, int]:
        return dict(self.counts)

    def close(self) -> None:
        self._closing.set()
        self._thread.join(timeout=10)


class Fleet:
    """The training processes, and the viewers' process."""

    def __init__(self, broker: str, store: str) -> None:
        self.broker, self.store = broker, store
        self.procs: list[tuple[Any, Any, Any, list[str]]] = []  # process, control, replies, keys
        self.view_ctl, self.view_out = driver.CTX.Queue(), driver.CTX.Queue()
        args = (broker, store, self.view_ctl, self.view_out)
        self.view_proc = driver.start(fleet.viewers, *args)

    def _ask(self, items: list[tuple[Any, Any]]) -> list[dict[str, Any]]:
        for (_p, ctl, _out, _keys), message in items:
            ctl.put(message)
        return [out.get(timeout=300) for (_p, _ctl, out, _keys), _ in items]

    def grow(self, keys: list[str]) -> dict[str, Any]:
        """Start a training on each key, filling processes up to PER_PROCESS; once connected."""
        started, plan = time.monotonic(), []
        while keys:
            if not self.procs or len(self.procs[-1][3]) >= PER_PROCESS:
                ctl, out = driver.CTX.Queue(), driver.CTX.Queue()
                process = driver.start(fleet.trainings, self.broker, self.store, ctl, out)
                self.procs.append((process, ctl, out, []))
            proc = self.procs[-1]
            take, keys = keys[: PER_PROCESS - len(proc[3])], keys[PER_PROCESS - len(proc[3]) :]
            proc[3].extend(take)
            plan.append((proc, ("grow", take)))
        answers = self._ask(plan)
        return {
            "connected": sum(a["connected"] for a in answers),
            "asked": sum(a["grown"] for a in answers),
            "took_s": time.monotonic() - started,
        }

    def renew(self, keys: list[str]) -> None:
        """End the trainings on these keys (the first process holds them) and start new ones
        there: fresh trainings that nobody has said hello to."""
        first = self.procs[0]
        self._ask([(first, ("end", set(keys)))])
        self._ask([(first, ("grow", keys))])

    def cpu(self) -> list[dict[str, Any]]:
        return self._ask([(p, ("cpu", None)) for p in self.procs])

    def open_viewers(self, keys: list[str]) -> dict[str, Any]:
        self.view_ctl.put(("open", keys))
        answer: dict[str, Any] = self.view_out.get(timeout=120)
        return answer

    def close_viewers(self, t0: float, t1: float) -> dict[str, Any]:
        self.view_ctl.put(("close", (t0, t1)))
        answer: dict[str, Any] = self.view_out.get(timeout=120)
        return answer

    def stop(self) -> None:
        self._ask([(p, ("stop", None)) for p in self.procs])
        self.view_ctl.put(("stop", None))
        for process, *_ in self.procs:
            process.join(timeout=30)
        self.view_proc.join(timeout=30)


def measure(
    fleet_: Fleet, counter: Counter, vhost: Vhost, pids: list[int], seconds: float
) -> dict[str, Any]:
    """One window: messages, the broker's CPU and memory, the trainings' CPU; then counts."""
    c0, b0, f0, t0 = counter.snapshot(), server_usage(pids), fleet_.cpu(), time.monotonic()
    m0 = machine_cpu()
    time.sleep(seconds)
    c1, b1, f1, t1 = counter.snapshot(), server_usage(pids), fleet_.cpu(), time.monotonic()
    m1 = machine_cpu()
    wall = t1 - t0
    n = sum(f["trainings"] for f in f1)
    both = b0.keys() & b1.keys()  # a server that restarted meanwhile is left out
    messages = {k: (v - c0.get(k, 0)) / wall for k, v in c1.items()}
    background = sum(
        (b["cpu_s"] - b["loop_cpu_s"]) - (a["cpu_s"] - a["loop_cpu_s"])
        for a, b in zip(f0, f1, strict=True)
    )
    loop = sum(b["loop_cpu_s"] - a["loop_cpu_s"] for a, b in zip(f0, f1, strict=True))
    return {
        "t0": t0,
        "t1": t1,
        "seconds": wall,
        "trainings": n,
        "connected": sum(f["connected"] for f in f1),
        "messages_per_s": messages,
        "rabbitmq_cpu_pct": 100 * sum(b1[p][0] - b0[p][0] for p in both) / wall if both else None,
        "machine_busy_pct": 100 * (m1[0] - m0[0]) / (m1[1] - m0[1]),
        "rabbitmq_rss_mib": sum(b1[p][1] for p in both) / 2**20 if both else None,
        "training_threads_cpu_pct_per_training": 100 * background / n / wall,
        "driver_loop_cpu_pct_per_training": 100 * loop / n / wall,
        "processes": [{k: f[k] for k in PROCESS_FIGURES} for f in f1],
        **vhost.counts(),
    }


def one_step(
    fleet_: Fleet,
    counter: Counter,
    vhost: Vhost,
    pids: list[int],
    watched: list[str],
    seconds: float,
) -> dict[str, Any]:
    quiet = measure(fleet_, counter, vhost, pids, seconds)
    opened = fleet_.open_viewers(watched)
    live = measure(fleet_, counter, vhost, pids, seconds)
    seen = fleet_.close_viewers(live["t0"], live["t1"])
    ages = [[1000 * a for a in v] for v in seen["ages_s"]]
    live |= {
        "viewers_seeing": opened["seeing"],
        "viewers_open_s": opened["took_s"],
        "viewer0_age_ms": tail(ages[0]),
        "viewers_age_ms": tail([a for v in ages for a in v]),
        "viewers_cpu_pct": 100 * seen["cpu_s"] / live["seconds"],
    }
    fleet_.renew(watched)  # the watched trainings would stay watched for a presence's TTL
    return {"unwatched": quiet, "watched": live}


def run(quick: bool) -> dict[str, Any]:
    url = amqp_url()
    if url is None:
        return {"skipped": NO_AMQP}
    sizes = (20, 50) if quick else (100, 250, 500, 1000)
    seconds = 10.0 if quick else 30.0
    from dltrack.wire.keys import model_id, new_model_key

    with Sandbox("scale") as sandbox, Vhost(url, f"dltrack-bench-scale-{os.getpid()}") as vhost:
        if not vhost.made:
            log(
                "scale: rabbitmqctl unavailable: on the URL's vhost, connections/queues not counted"
            )
        pids = vhost.server_pids()
        watched = [sandbox.new_model(f"watched-{i}") for i in range(VIEWERS)]
        counter = Counter(vhost.url, {model_id(k) for k in watched}).start()
        b0 = server_usage(pids)
        time.sleep(seconds / 3)
        b1 = server_usage(pids)
        idle = {
            "rabbitmq_rss_mib": sum(b1[p][1] for p in b1) / 2**20,
            "rabbitmq_cpu_pct": 100
            * sum(b1[p][0] - b0[p][0] for p in b0.keys() & b1.keys())
            / (seconds / 3),
        }
        fleet_ = Fleet(vhost.url, sandbox.local_url)
        steps: dict[str, Any] = {}
        try:
            have = 0
            for n in sizes:
                keys = watched if have == 0 else []
                keys = keys + [new_model_key() for _ in range(n - have - len(keys))]
                grown = fleet_.grow(keys)
                have = n
                log(f"scale: {n}: {grown['connected']} connected, {grown['took_s']:.0f} s")
                if grown["connected"] < grown["asked"]:
                    steps[str(n)] = {"grow": grown}  # said in the table; no further step
                    break
                time.sleep(3.0)  # the first full heartbeats of the new ones go out
                steps[str(n)] = {
                    "grow": grown,
                    **one_step(fleet_, counter, vhost, pids, watched, seconds),
                }
                w = steps[str(n)]["watched"]
                age, cpu = w["viewer0_age_ms"]["p50"], num(w["rabbitmq_cpu_pct"], 0)
                log(f"scale: {n}: viewer age p50 {age:.0f} ms, RabbitMQ {cpu}% of a core")
        finally:
            fleet_.stop()
            counter.close()
    return {"idle": idle, "steps": steps, "window_s": seconds, "vhost": vhost.made}


HEADER = (
    "trainings | viewers | msgs/s published / delivered | per training msgs/s | RabbitMQ CPU %"
    " of a core | RabbitMQ memory MiB | connections / queues | training threads' CPU % per"
    " training | viewer 0 age p50 / p99 ms | 10 viewers' age p50 / p99 ms | machine busy %"
)


def published(w: dict[str, Any]) -> float:
    m = w["messages_per_s"]
    return sum(
        m.get(f"{a} {b}", 0.0) for a in ("watched", "unwatched") for b in ("update", "command")
    )


def delivered(w: dict[str, Any], watched: bool) -> float:
    """To the product's consumers (viewers' feeds, trainings' command queues), not the counter:
    a watched model's update reaches its one viewer, a hello its one training."""
    m = w["messages_per_s"]
    return m.get("watched update", 0.0) + m.get("watched command", 0.0) if watched else 0.0


def _row(n: str, w: dict[str, Any], watched: bool) -> list[object]:
    counts = " / ".join("-" if w[k] is None else str(w[k]) for k in ("connections", "queues"))
    return [
        n,
        VIEWERS if watched else 0,
        f"{published(w):.1f} / {delivered(w, watched):.1f}",
        num(published(w) / w["trainings"], 3),
        num(w["rabbitmq_cpu_pct"], 1),
        num(w["rabbitmq_rss_mib"], 0),
        counts,
        num(w["training_threads_cpu_pct_per_training"], 3),
        pair(w["viewer0_age_ms"], digits=0) if watched else "-",
        pair(w["viewers_age_ms"], digits=0) if watched else "-",
        num(w.get("machine_busy_pct"), 0),
    ]


def tables(result: dict[str, Any]) -> str:
    if "skipped" in result:
        return f"Not run: {result['skipped']}."
    rows, notes = [], []
    for n, step in result["steps"].items():
        g = step["grow"]
        if "unwatched" not in step:
            notes.append(f"At {n}: {g['connected']} of {g['asked']} new connected; stopped there.")
            continue
        rows.append(_row(n, step["unwatched"], False))
        rows.append(_row(n, step["watched"], True))
        p, w = step["watched"]["processes"], step["watched"]
        notes.append(
            f"{n}: {g['asked']} new connected in {g['took_s']:.0f} s; {len(p)} training"
            f" process(es), up to {max(x['threads'] for x in p)} threads and"
            f" {max(x['fds'] for x in p)} file descriptors each (limit {p[0]['fd_limit']}),"
            f" peak memory {max(x['rss_mib'] for x in p):.0f} MiB each;"
            f" the driver loop's synthetic hooks {num(w['driver_loop_cpu_pct_per_training'], 3)}%"
            f" of a core per training; the viewers' process {num(w['viewers_cpu_pct'], 0)}%."
        )
    idle = num(result["idle"]["rabbitmq_cpu_pct"], 1)
    rss = num(result["idle"].get("rabbitmq_rss_mib"), 0)
    idle = f"RabbitMQ before the run, nothing of ours connected: {idle}% of a core, {rss} MiB."
    windows = f"Each row: a {result['window_s']:.0f} s window."
    return "\n\n".join([table(HEADER, rows), windows + " " + idle, *(f"- {x}" for x in notes)])


if __name__ == "__main__":
    runner.main(run, tables, __doc__)
