"""fit() time with each callback relative to fit() with none, on a tiny MLP and a small CNN.

First dltrack alone: its two backends alternated with no callback (none, local, none, amqp,
none, ...). Then everyone in rounds (no callback, A, B, no callback, C, D, ..., the order
rotating from round to round). Every run sits next to a no-callback run, and its ratio is
taken against the mean of its no-callback neighbours; the report gives the median ratio and
its interquartile range. CPU time (all threads of the process) is reported beside wall time
because it is less disturbed by other work on a shared machine.

Then dltrack's own cost, measured directly (bench/tracker_cost.py): its hooks' time on the
training thread and its background threads' CPU time in a real fit(), and a tight loop of
direct `on_train_batch_end` calls on a real session, in us per call.

    python -m bench.overhead [--quick] [--out results.json]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import shutil
import statistics
import sys
import time
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from .models import BATCH, cnn, mlp
from .stats import spread
from .tracker_cost import attribution, hook_timing

COOL_DOWN_S = 0.3
# Long enough epochs that per-epoch work (records, store writes) weighs as in a real training,
# not 4 times a second.
MLP_STEPS = 1000
SLOW_RATIO = 2.5


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


def run(quick: bool, log: Any = print) -> dict[str, Any]:
    from . import peers
    from .sandbox import Sandbox, amqp_url

    rounds = 2 if quick else 5
    repeats = 1 if quick else 6
    target_s = 0.8 if quick else 3.0
    result: dict[str, Any] = {"quick": quick, "rounds": rounds, "models": {}, "hook": {}}
    scratch = peers.scratch_dir()  # TensorBoard's logs, MLflow's database
    with (
        Sandbox("overhead") as sandbox,
        peers.http_sink() as http_root,
        contextlib.ExitStack() as cleanup,
    ):
        cleanup.callback(shutil.rmtree, scratch, ignore_errors=True)
        variants = peers.tools(sandbox, http_root, scratch)
        for name, build in (("mlp", lambda: mlp(MLP_STEPS)), ("cnn", cnn)):
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
