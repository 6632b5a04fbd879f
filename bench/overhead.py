"""fit() time with each callback relative to fit() with none, on a tiny MLP and a small CNN.

Runs alternate within each round (no callback, A, B, no callback, C, D, …, the order rotating
from round to round), every variant sits next to a no-callback run, and its ratio is taken
against the mean of its neighbouring no-callback runs; the report gives the median ratio over
rounds and its interquartile range. CPU time (all threads of the process) is reported beside
wall time because it is less disturbed by other work on a shared machine.

Also times the Tracker's own `on_train_batch_end` on the training thread: a tight loop of
direct calls on a real session (background threads running), in µs per call.

    python -m bench.overhead [--quick] [--out results.json]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import statistics
import sys
import time
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from .stats import spread, tail

BATCH = 32
COOL_DOWN_S = 0.3
SLOW_RATIO = 2.5


def mlp(steps_per_epoch: int) -> tuple[Any, Any, Any, str]:
    """Dense 64→64→10 on synthetic data: the ~2-3 ms/step class of DESIGN.md §9."""
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH * steps_per_epoch, 64)).astype("float32")
    y = rng.integers(0, 10, size=len(x))
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)]
    )
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model, x, y, "MLP 64→64→10, synthetic data, batch 32"


def cnn() -> tuple[Any, Any, Any, str]:
    """A small CNN on scikit-learn's bundled digits (8x8, 1797 images)."""
    import keras
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]
    y = digits.target
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(16, 3, activation="relu", padding="same"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(32, 3, activation="relu", padding="same"),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model, x, y, "CNN conv16-conv32-dense64 on sklearn digits, batch 32"


def timed_fit(model: Any, x: Any, y: Any, epochs: int, variant: Any) -> tuple[float, float]:
    """(wall s, process CPU s) of one fit() with the variant's fresh callbacks.

    Other engineers' test suites restart RabbitMQ on this machine now and then; a fit that
    fails because of that (the 2020-style callback crashes fit() when the broker is away,
    which is one of its flaws) is retried, and the failure is counted."""
    for attempt in range(3):
        callbacks = variant.make()
        variant.before()
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=callbacks)
            variant.after()
        except Exception as exc:  # noqa: BLE001 - reported, then retried
            variant.failures.append(repr(exc)[:200])
            print(f"  {variant.name}: fit() failed ({exc!r:.120}), retrying", file=sys.stderr)
            time.sleep(2.0 * (attempt + 1))
            continue
        return time.perf_counter() - wall, time.process_time() - cpu
    raise RuntimeError(f"{variant.name}: fit() failed three times: {variant.failures[-1]}")


def schedule(names: list[str], round_no: int) -> list[str]:
    """One round: the variants in rotated order, a no-callback run before every second one
    and at the end, so that every variant has a no-callback neighbour."""
    others = [n for n in names if n != "none"]
    shift = round_no % len(others)
    others = others[shift:] + others[:shift]
    order: list[str] = []
    for i, name in enumerate(others):
        if i % 2 == 0:
            order.append("none")
        order.append(name)
    order.append("none")
    return order


def alternate(names: list[str], repeats: int) -> list[str]:
    """A B A C A B A C ... A: each variant between two no-callback runs."""
    order = ["none"]
    for _ in range(repeats):
        for name in names:
            order += [name, "none"]
    return order


def neighbour_baseline(runs: list[tuple[str, float, float]], i: int) -> tuple[float, float]:
    """Mean wall and CPU time of the no-callback runs next to run i (before and after)."""
    found = []
    for step in (-1, 1):
        j = i + step
        while 0 <= j < len(runs) and runs[j][0] != "none":
            j += step
        if 0 <= j < len(runs):
            found.append(runs[j])
    return (
        statistics.mean(r[1] for r in found),
        statistics.mean(r[2] for r in found),
    )


Samples = dict[str, dict[str, list[float]]]


def run_sequence(order: list[str], fit: Any, by_name: dict[str, Any], samples: Samples) -> None:
    """Run the fits in `order`; file each variant's times and its ratios to its neighbours."""
    runs = []
    for name in order:
        gc.collect()  # no collector pause inherited from the previous run
        time.sleep(COOL_DOWN_S)  # nor work that a previous callback left running
        wall, cpu = fit(by_name[name])
        runs.append((name, wall, cpu))
    for i, (name, wall, cpu) in enumerate(runs):
        s = samples.setdefault(name, {"wall": [], "cpu": [], "ratio": [], "cpu_ratio": []})
        s["wall"].append(wall)
        s["cpu"].append(cpu)
        if name != "none":
            base_wall, base_cpu = neighbour_baseline(runs, i)
            s["ratio"].append(wall / base_wall)
            s["cpu_ratio"].append(cpu / base_cpu)


def summarise(samples: Samples, name: str) -> dict[str, Any]:
    s = samples.get(name)
    if not s:
        return {}
    out = {"seconds": spread(s["wall"])}
    if s["ratio"]:
        out |= {"ratio": spread(s["ratio"]), "cpu_ratio": spread(s["cpu_ratio"])}
    return out


def measure_model(
    build: Any,
    variants: list[Any],
    rounds: int,
    repeats: int,
    target_s: float,
    sandbox: Any,
    log: Any,
) -> dict[str, Any]:
    model, x, y, description = build()
    by_name = {v.name: v for v in variants}
    runnable = [v.name for v in variants if v.make is not None]
    # Compile and warm up, then size the fit so that it lasts about target_s.
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    steps = -(-len(x) // BATCH)
    per_epoch, _ = timed_fit(model, x, y, 2, by_name["none"])
    epochs = max(2, round(target_s / (per_epoch / 2)))
    log(f"  {description}: {steps} steps/epoch, {epochs} epochs per fit")
    for name in runnable:  # first-use costs (tracing, files, connections) stay out
        timed_fit(model, x, y, 1, by_name[name])

    def fit(variant: Any) -> tuple[float, float]:
        return timed_fit(model, x, y, epochs, variant)

    # The target's own measurement: dltrack and nothing else, A B A C A B ... A.
    ours = [n for n in runnable if n.startswith("dltrack")]
    alone: Samples = {}
    if ours:
        run_sequence(alternate(ours, repeats), fit, by_name, alone)
        line = ", ".join(f"{n} {spread(alone[n]['ratio'])['median']:.3f}x" for n in ours)
        log(f"  dltrack alone, alternated with no callback ({repeats} each): {line}")
    # Everyone side by side, in rotating rounds; a peer clearly slow after two rounds (over
    # SLOW_RATIO) sits out the rest, which keeps the whole run short.
    samples: Samples = {}
    active = list(runnable)
    for r in range(rounds):
        run_sequence(schedule(active, r), fit, by_name, samples)
        line = ", ".join(f"{n} {samples[n]['ratio'][-1]:.3f}" for n in active if n != "none")
        log(f"  round {r + 1}/{rounds}: {line}")
        if r == 1:
            active = [
                n
                for n in active
                if n == "none" or statistics.median(samples[n]["ratio"]) <= SLOW_RATIO
            ]
    total_steps = steps * epochs

    def plain_fit(callbacks: list[Any]) -> float:
        t0 = time.perf_counter()
        model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=callbacks)
        return time.perf_counter() - t0

    costs = {}
    for name in ours:
        backend = name.split("_")[1]
        costs[name] = attribution(plain_fit, sandbox, backend, 2 if rounds < 3 else 3)
        c = costs[name]
        log(
            f"  {name} cost in a {c['fit_s']:.2f} s fit: train_begin "
            f"{c['train_begin_ms']:.1f} ms, batch hooks {c['batch_hooks_ms']:.1f} ms, "
            f"epoch hooks {c['epoch_hooks_ms']:.1f} ms, train_end {c['train_end_ms']:.1f} "
            f"ms, background threads' CPU {c['broker_thread_cpu_ms']:.1f} + "
            f"{c['store_thread_cpu_ms']:.1f} ms = {100 * c['share']:.2f}% of the fit"
            f" ({100 * c['steady_share']:.2f}% in the steady state)"
        )
    baseline = samples["none"]["wall"] + alone.get("none", {}).get("wall", [])
    result: dict[str, Any] = {
        "description": description,
        "steps_per_epoch": steps,
        "epochs": epochs,
        "ms_per_step": spread([w * 1000 / total_steps for w in baseline]),
        "repeats": repeats,
        "dltrack_alone": {n: summarise(alone, n) for n in ours},
        "dltrack_cost": costs,
        "variants": {},
    }
    for v in variants:
        result["variants"][v.name] = {
            "label": v.label,
            "skipped": v.skipped,
            "note": v.note,
            "failures": len(v.failures),
            **summarise(samples, v.name),
        }
    return result


def attribution(build_fit: Any, sandbox: Any, backend: str, fits: int) -> dict[str, Any]:
    """Where dltrack's cost goes in a real fit(), measured directly rather than as a noisy
    difference of two wall times: time in its hooks on the training thread, and CPU time of
    its two background threads (each thread's own `time.thread_time()` when it ends); also
    the same between the first epoch's start and the last one's end (the steady state,
    without connecting and shutting down)."""
    import dltrack.broker_link
    import dltrack.store_writer
    from dltrack import Tracker

    thread_cpu: dict[str, float] = {}
    originals = {}

    def instrument(cls: Any, name: str) -> None:
        run = cls.run
        originals[cls] = run

        def timed_run(self: Any) -> None:
            try:
                run(self)
            finally:
                thread_cpu[name] = time.thread_time()

        cls.run = timed_run

    spent: dict[str, float] = {}
    steady: dict[str, float] = {}

    class TimedTracker(Tracker):
        def _time(self, name: str, hook: Any, *args: Any) -> None:
            t0 = time.perf_counter_ns()
            hook(*args)
            spent[name] = spent.get(name, 0.0) + (time.perf_counter_ns() - t0) / 1e6

        def _mark(self, when: str) -> None:
            """Time, hook time and the background threads' CPU so far (precise, per thread),
            to tell the steady state apart from starting and stopping."""
            cpu = 0.0
            for thread in self._threads:
                if thread.is_alive() and thread.ident is not None:
                    with contextlib.suppress(OSError):  # it ended just now
                        cpu += time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
            steady[f"{when}_wall"] = time.perf_counter()
            steady[f"{when}_cpu"] = cpu
            steady[f"{when}_hooks_ms"] = sum(spent.values())

        def on_train_begin(self, logs: Any = None) -> None:
            self._time("train_begin_ms", super().on_train_begin, logs)

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self._time("epoch_hooks_ms", super().on_epoch_begin, epoch, logs)
            if epoch == 0:
                self._mark("first")

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self._time("batch_hooks_ms", super().on_train_batch_end, batch, logs)

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self._time("epoch_hooks_ms", super().on_epoch_end, epoch, logs)
            if epoch == self.params["epochs"] - 1:
                self._mark("last")

        def on_train_end(self, logs: Any = None) -> None:
            self._time("train_end_ms", super().on_train_end, logs)

    instrument(dltrack.broker_link.BrokerLink, "broker")
    instrument(dltrack.store_writer.StoreWriter, "store")
    url = sandbox.broker_url(backend)
    rows = []
    try:
        for _ in range(fits):
            spent.clear()
            steady.clear()
            thread_cpu.clear()
            tracker = TimedTracker(sandbox.model_key, broker=url, store=sandbox.local_url)
            wall = build_fit([tracker])
            row = {"fit_s": wall, **spent}
            row["broker_thread_cpu_ms"] = 1000 * thread_cpu.get("broker", 0.0)
            row["store_thread_cpu_ms"] = 1000 * thread_cpu.get("store", 0.0)
            row["share"] = (sum(spent.values()) + 1000 * sum(thread_cpu.values())) / 1000 / wall
            # From the first epoch's start to the last one's end: what a long training pays.
            span = steady["last_wall"] - steady["first_wall"]
            hooks = (steady["last_hooks_ms"] - steady["first_hooks_ms"]) / 1000
            row["steady_share"] = (hooks + steady["last_cpu"] - steady["first_cpu"]) / span
            rows.append(row)
    finally:
        for cls, run in originals.items():
            cls.run = run
    keys = rows[0].keys()
    return {k: statistics.median(r[k] for r in rows) for k in keys} | {"fits": fits}


def hook_timing(sandbox: Any, backend: str, calls: int) -> dict[str, Any]:
    """µs per `on_train_batch_end` on the training thread, on a real, running session."""
    from dltrack import Tracker

    from .fake_model import attach

    url = sandbox.broker_url(backend)
    tracker = Tracker(sandbox.model_key, broker=url, store=sandbox.local_url)
    attach(tracker, epochs=1, steps=calls)
    tracker.on_train_begin()
    tracker.on_epoch_begin(0)
    time.sleep(0.5)  # let the background threads connect: measure the steady state
    clock = time.perf_counter_ns
    hook = tracker.on_train_batch_end
    logs = {"loss": 0.25, "accuracy": 0.5}
    durations = []
    for i in range(calls):
        t0 = clock()
        hook(i, logs)
        durations.append(clock() - t0)
    floor = []
    for _ in range(calls):  # the timer's own cost, for reference
        t0 = clock()
        floor.append(clock() - t0)
    tracker.on_epoch_end(0, logs)
    tracker.on_train_end(logs)
    return {
        "hook_us": tail([d / 1000 for d in durations]),
        "timer_floor_us": tail([d / 1000 for d in floor]),
    }


def run(quick: bool, log: Any = print) -> dict[str, Any]:
    from . import peers
    from .sandbox import Sandbox, amqp_url

    rounds = 2 if quick else 5
    repeats = 1 if quick else 6
    target_s = 0.8 if quick else 3.0
    result: dict[str, Any] = {"quick": quick, "rounds": rounds, "models": {}, "hook": {}}
    scratch = peers.scratch_dir()
    with Sandbox("overhead") as sandbox, peers.http_sink() as http_root:
        variants = peers.tools(sandbox, http_root, scratch)
        for name, build in (("mlp", lambda: mlp(200)), ("cnn", cnn)):
            log(f"overhead: {name}")
            result["models"][name] = measure_model(
                build, variants, rounds, repeats, target_s, sandbox, log
            )
        for backend in ("local", "amqp"):
            if backend == "amqp" and amqp_url() is None:
                result["hook"][backend] = {"skipped": "DLTRACK_TEST_AMQP_URL is not set"}
                continue
            result["hook"][backend] = hook_timing(sandbox, backend, 20_000 if quick else 200_000)
            h = result["hook"][backend]["hook_us"]
            log(f"  on_train_batch_end ({backend}): p50 {h['p50']:.2f} µs, p99 {h['p99']:.2f} µs")
        result["remote_monitor_posts"] = peers._Sink.posts
    _cleanup_original_queues(sandbox.model_key)
    return result


def _cleanup_original_queues(model_key: str) -> None:
    from .original_2020 import Original2020Tracker
    from .sandbox import amqp_url

    url = amqp_url()
    if url:
        try:
            Original2020Tracker(model_key, url).cleanup()
        except Exception as exc:  # noqa: BLE001 - cleanup only; the queues expire anyway
            print(f"could not delete the 2020-style queues: {exc}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 short rounds")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)
    result = run(args.quick)
    if args.out:
        with open(args.out, "w") as out:
            json.dump(result, out, indent=1)
    for name, model in result["models"].items():
        print(f"\n{name}: {model['description']}, {model['ms_per_step']['median']:.2f} ms/step")
        for v in model["variants"].values():
            if v.get("ratio"):
                r = v["ratio"]
                print(f"  {v['label']:<60} {r['median']:.3f}x [{r['q1']:.3f}-{r['q3']:.3f}]")
            elif v["skipped"]:
                print(f"  {v['label']:<60} not run: {v['skipped']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
