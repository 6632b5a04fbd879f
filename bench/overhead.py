"""fit() time with each callback relative to fit() with none, on a tiny MLP and a small CNN;
then dltrack's own cost, measured directly (bench/tracker_cost.py).

Every run sits next to a no-callback run and its ratio is taken against the mean of its
no-callback neighbours: dltrack alone first (none, local, none, amqp, none, ...), then everyone
in rounds whose order rotates. docs/benchmarks.md, section 1, says the method in full.
"""

from __future__ import annotations

import gc
import statistics
import time
from typing import Any

from . import runner
from .models import BATCH, cnn, mlp
from .peers import Variant, tools
from .runner import log, num, ratio, spread, table
from .sandbox import Sandbox, backends
from .tracker_cost import attribution, hook_timing

COOL_DOWN_S = 0.3
# Long enough epochs that per-epoch work (records, store writes) weighs as in a real training,
# not 4 times a second.
MLP_STEPS = 1000
SLOW_RATIO = 2.5  # a peer this slow after two rounds sits out the rest: the run stays short
Samples = dict[str, dict[str, list[float]]]


def timed_fit(model: Any, x: Any, y: Any, epochs: int, variant: Variant) -> tuple[float, float]:
    """(wall s, process CPU s) of one fit() with the variant's fresh callbacks.

    Other engineers' test suites restart RabbitMQ on a shared machine now and then; a fit that
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
            log(f"  {variant.name}: fit() failed ({exc!r:.120}), retrying")
            time.sleep(2.0 * (attempt + 1))
            continue
        return time.perf_counter() - wall, time.process_time() - cpu
    raise RuntimeError(f"{variant.name}: fit() failed three times: {variant.failures[-1]}")


def schedule(names: list[str], round_no: int) -> list[str]:
    """One round: the variants in rotated order, a no-callback run before every second one
    and at the end, so that every variant has a no-callback neighbour."""
    others = [n for n in names if n != "none"]
    shift = round_no % len(others)
    order: list[str] = []
    for i, name in enumerate(others[shift:] + others[:shift]):
        order += ["none", name] if i % 2 == 0 else [name]
    return [*order, "none"]


def alternate(names: list[str], repeats: int) -> list[str]:
    """A B A C A B A C ... A: each variant between two no-callback runs."""
    return ["none", *(step for _ in range(repeats) for n in names for step in (n, "none"))]


def neighbour_baseline(runs: list[tuple[str, float, float]], i: int) -> tuple[float, float]:
    """Mean wall and CPU time of the no-callback runs next to run i (before and after)."""
    found = []
    for step in (-1, 1):
        j = i + step
        while 0 <= j < len(runs) and runs[j][0] != "none":
            j += step
        if 0 <= j < len(runs):
            found.append(runs[j])
    return statistics.mean(r[1] for r in found), statistics.mean(r[2] for r in found)


def run_sequence(order: list[str], fit: Any, by_name: dict[str, Variant], into: Samples) -> None:
    """Run the fits in `order`; file each variant's times and its ratios to its neighbours."""
    runs = []
    for name in order:
        gc.collect()  # no collector pause inherited from the previous run
        time.sleep(COOL_DOWN_S)  # nor work that a previous callback left running
        runs.append((name, *fit(by_name[name])))
    for i, (name, wall, cpu) in enumerate(runs):
        s = into.setdefault(name, {"wall": [], "cpu": [], "ratio": [], "cpu_ratio": []})
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
    out: dict[str, Any] = {"seconds": spread(s["wall"]), "n": len(s["wall"])}
    if s["ratio"]:
        out |= {"ratio": spread(s["ratio"]), "cpu_ratio": spread(s["cpu_ratio"])}
    return out


def measure_model(build: Any, variants: list[Variant], quick: bool, sandbox: Sandbox) -> Any:
    rounds, repeats, target_s = (2, 1, 0.8) if quick else (5, 6, 3.0)
    model, x, y, description = build()
    by_name = {v.name: v for v in variants}
    runnable = [v.name for v in variants if not v.skipped]
    # Compile and warm up, then size the fit so that it lasts about target_s.
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    steps = -(-len(x) // BATCH)
    two_epochs, _ = timed_fit(model, x, y, 2, by_name["none"])
    epochs = max(2, round(target_s / (two_epochs / 2)))
    log(f"  {description}: {steps} steps/epoch, {epochs} epochs per fit")
    for name in runnable:  # first-use costs (tracing, files, connections) stay out
        timed_fit(model, x, y, 1, by_name[name])

    def fit(variant: Variant) -> tuple[float, float]:
        return timed_fit(model, x, y, epochs, variant)

    ours = [n for n in runnable if n.startswith("dltrack")]
    alone: Samples = {}
    run_sequence(alternate(ours, repeats), fit, by_name, alone)
    samples: Samples = {}
    active = list(runnable)
    for r in range(rounds):
        run_sequence(schedule(active, r), fit, by_name, samples)
        ratios = {n: samples[n]["ratio"] for n in active if n != "none"}
        log(
            f"  round {r + 1}/{rounds}: " + ", ".join(f"{n} {v[-1]:.3f}" for n, v in ratios.items())
        )
        if r == 1:
            active = [n for n in active if statistics.median(ratios.get(n, [0])) <= SLOW_RATIO]

    def plain_fit(callbacks: list[Any]) -> float:
        return fit(Variant("cost", "dltrack, instrumented", lambda: callbacks))[0]

    fits = 2 if quick else 3
    baseline = samples["none"]["wall"] + alone.get("none", {}).get("wall", [])
    return {
        "description": description,
        "steps_per_epoch": steps,
        "epochs": epochs,
        "rounds": rounds,
        "ms_per_step": spread([w * 1000 / (steps * epochs) for w in baseline]),
        "dltrack_alone": {n: summarise(alone, n) for n in ours},
        "dltrack_cost": {n: attribution(plain_fit, sandbox, n.split("_")[1], fits) for n in ours},
        "variants": {
            v.name: {
                "label": v.label,
                "skipped": v.skipped,
                "failures": len(v.failures),
                **summarise(samples, v.name),
            }
            for v in variants
        },
    }


def run(quick: bool) -> dict[str, Any]:
    result: dict[str, Any] = {"models": {}, "hook": {}}
    with Sandbox("overhead") as sandbox, tools(sandbox) as variants:
        for name, build in (("mlp", lambda: mlp(MLP_STEPS)), ("cnn", cnn)):
            log(f"overhead: {name}")
            result["models"][name] = measure_model(build, variants, quick, sandbox)
        for backend, why in backends().items():
            calls = 20_000 if quick else 200_000
            hook = {"skipped": why} if why else hook_timing(sandbox, backend, calls)
            result["hook"][backend] = hook
    return result


HOOKS_MS = ["train_begin_ms", "batch_hooks_ms", "epoch_hooks_ms", "train_end_ms"]
COST_COLUMNS = [*HOOKS_MS, "broker_thread_cpu_ms", "store_thread_cpu_ms"]  # COST_HEADER's order
COST_HEADER = (
    "backend | fit s | train_begin ms | all batch hooks ms | epoch hooks ms | train_end ms | broker"
    " thread CPU ms | store thread CPU ms | sum / fit time | steady state | background threads,"
    " steady state"
)


def _variant_row(v: dict[str, Any]) -> list[object]:
    label = v["label"] + (f"; {v['failures']} failed fit(s) retried" if v["failures"] else "")
    if v["skipped"]:
        return [label, "not run", v["skipped"], "-", "-"]
    if "ratio" not in v:
        return [label, "1 (baseline)", "1 (baseline)", num(v["seconds"]["median"], 2), v["n"]]
    return [label, ratio(v["ratio"]), ratio(v["cpu_ratio"]), num(v["seconds"]["median"], 2), v["n"]]


def _cost_row(name: str, c: dict[str, float]) -> list[object]:
    shares = [f"{100 * c['share']:.2f}%", f"{100 * c['steady_share']:.2f}%"]
    background = c.get("steady_background_share")  # absent from runs before it was measured
    shares.append("-" if background is None else f"{100 * background:.2f}%")
    return [
        name.replace("dltrack_", ""),
        num(c["fit_s"], 2),
        *map(num, (c[k] for k in COST_COLUMNS)),
        *shares,
    ]


def tables(result: dict[str, Any]) -> str:
    out = []
    for m in result["models"].values():
        out.append(
            f"### {m['description']}\n\n{m['steps_per_epoch']} steps/epoch x"
            f" {m['epochs']} epochs per fit, {m['ms_per_step']['median']:.2f} ms/step without"
            f" callbacks (median); {m['rounds']} rounds."
        )
        rows: list[list[object]] = [
            [n.replace("_", ", "), ratio(a.get("ratio")), ratio(a.get("cpu_ratio")), a.get("n")]
            for n, a in m["dltrack_alone"].items()
        ]
        out.append("dltrack alone, alternated with no callback:")
        out.append(table("callback | wall time ratio | CPU time ratio | n", rows))
        out.append("Side by side with the alternatives, in rotating rounds:")
        rows = [_variant_row(v) for v in m["variants"].values()]
        out.append(table("callback | wall time ratio | CPU time ratio | fit s | n", rows))
        out.append("Where dltrack's cost goes in one such fit() (median of the instrumented fits):")
        rows = [_cost_row(n, c) for n, c in m["dltrack_cost"].items()]
        out.append(table(COST_HEADER, rows))
    rows = []
    for backend, h in result["hook"].items():
        if "skipped" in h:
            rows.append([backend, "not run", h["skipped"], "", ""])
            continue
        t = h["hook_us"]
        floor = runner.pair(h["timer_floor_us"], digits=2)
        rows.append([backend, num(t["p50"], 2), num(t["p99"], 2), num(t["max"], 0), floor])
    out.append("### The Tracker's own time per batch, on the training thread")
    out.append(table("backend | p50 us | p99 us | max us | timer alone p50 / p99 us", rows))
    return "\n\n".join(out)


if __name__ == "__main__":
    runner.main(run, tables, __doc__)
