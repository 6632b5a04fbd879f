"""Section 1 of docs/benchmarks.md: overhead."""

from __future__ import annotations

from typing import Any

from .markdown import ALONE, num, ratio, table, why_missing


def overhead_section(oh: dict[str, Any] | None) -> list[str]:
    lines = [
        "## 1. Overhead: fit() time relative to no callback",
        "",
        f"Command: `{ALONE.format(part='overhead')}`. Every run is one fit() with `verbose=0`"
        " and fresh callbacks, sized to last ~3 s. First dltrack alone, alternated with no"
        " callback (none, local, none, RabbitMQ, none, ...); then everyone side by side in"
        " rounds (none, A, B, none, C, D, ..., the order rotating between rounds). Every run"
        " sits next to a no-callback run, and its ratio is taken against the mean of its"
        " no-callback neighbours. Shown: the median ratio [interquartile range] of wall time"
        " and of CPU time of the whole process (all threads), which is less disturbed by other"
        " work on the machine. A garbage collection and a 0.3 s pause precede every run.",
        "",
    ]
    why = why_missing(oh)
    if why or oh is None:
        return [*lines, why or "", ""]
    lines += [
        f"{oh['rounds']} rounds per model; a peer whose median ratio is over 2.5x after two"
        " rounds sits out the rest (its n is smaller). Before the rounds, dltrack alone is"
        " alternated with no callback (A B A C A B ...) to measure the target without peers"
        " in between.",
        "",
    ]
    for name, model in oh["models"].items():
        ms = model["ms_per_step"]["median"]
        lines += [
            f"### {name.upper()}: {model['description']}",
            "",
            f"{model['steps_per_epoch']} steps/epoch x {model['epochs']} epochs per fit,"
            f" {ms:.2f} ms/step without callbacks (median).",
            "",
        ]
        alone = model.get("dltrack_alone") or {}
        if alone:
            arow = []
            for variant, a in alone.items():
                if a.get("ratio"):
                    arow.append(
                        [
                            variant.replace("dltrack_", "dltrack, "),
                            ratio(a["ratio"]),
                            ratio(a["cpu_ratio"]),
                            str(a["ratio"]["n"]),
                        ]
                    )
            lines += [
                "dltrack alone, alternated with no callback:",
                "",
                *table(["callback", "wall time ratio", "CPU time ratio", "n"], arow),
                "",
                "Side by side with the alternatives (rotating rounds):",
                "",
            ]
        rows = []
        for v in model["variants"].values():
            if v.get("skipped"):
                rows.append([v["label"], "not run", v["skipped"], "-", "-"])
                continue
            if "ratio" not in v:
                rows.append(
                    [
                        v["label"],
                        "1 (baseline)",
                        "1 (baseline)",
                        num(v["seconds"]["median"], 2),
                        str(v["seconds"]["n"]),
                    ]
                )
                continue
            label = v["label"] + (f" ({v['note']})" if v.get("note") else "")
            if v.get("failures"):
                label += f"; {v['failures']} failed fit(s) retried"
            rows.append(
                [
                    label,
                    ratio(v["ratio"]),
                    ratio(v["cpu_ratio"]),
                    num(v["seconds"]["median"], 2),
                    str(v["ratio"]["n"]),
                ]
            )
        lines += table(["callback", "wall time ratio", "CPU time ratio", "fit s", "n"], rows)
        lines.append("")
        costs = model.get("dltrack_cost") or {}
        if costs:
            lines += [
                "Where dltrack's cost goes in one such fit() (median of a few instrumented fits;"
                " measured directly, so it does not drown in the machine's noise):",
                "",
            ]
            crow = []
            for variant, c in costs.items():
                crow.append(
                    [
                        variant.replace("dltrack_", ""),
                        num(c["fit_s"], 2),
                        num(c.get("train_begin_ms"), 1),
                        num(c.get("batch_hooks_ms"), 1),
                        num(c.get("epoch_hooks_ms"), 1),
                        num(c.get("train_end_ms"), 1),
                        num(c["broker_thread_cpu_ms"], 1),
                        num(c["store_thread_cpu_ms"], 1),
                        f"{100 * c['share']:.2f}%",
                        f"{100 * c['steady_share']:.2f}%" if "steady_share" in c else "-",
                    ]
                )
            lines += table(
                [
                    "backend",
                    "fit s",
                    "train_begin ms",
                    "all batch hooks ms",
                    "epoch hooks ms",
                    "train_end ms",
                    "broker thread CPU ms",
                    "store thread CPU ms",
                    "sum / fit time",
                    "steady state",
                ],
                crow,
            )
            lines += [
                "",
                "The sum is an upper bound on what dltrack can add to the wall time: hook time is"
                " spent on the training thread; the background threads' CPU time competes for"
                " the GIL and the cores, and fully adds only when both cores are busy. *Steady"
                " state*: the same sum from the first epoch's start to the last epoch's end, as"
                " a share of that span, i.e. without connecting at the start and flushing and"
                " disconnecting at the end: what a long training pays. The difference is a"
                " fixed cost per fit() of a few tens of ms.",
                "",
            ]
    hook = oh.get("hook") or {}
    rows = []
    for backend, h in hook.items():
        if "skipped" in h:
            rows.append([backend, "not run", h["skipped"], "", ""])
            continue
        t, f = h["hook_us"], h["timer_floor_us"]
        rows.append(
            [
                backend,
                num(t["p50"], 2),
                num(t["p99"], 2),
                num(t["max"], 0),
                f"{f['p50']:.2f} / {f['p99']:.2f}",
            ]
        )
    if rows:
        n = next((h["hook_us"]["n"] for h in hook.values() if "hook_us" in h), 0)
        lines += [
            "### The Tracker's own time per batch, on the training thread",
            "",
            f"`on_train_batch_end` called directly {n:,} times in a tight loop on a real, running"
            " session (background threads connected and publishing), each call timed with"
            " `perf_counter_ns`:",
            "",
            *table(["backend", "p50 us", "p99 us", "max us", "timer alone p50 / p99 us"], rows),
            "",
            "The max is a GIL hand-over to a background thread or a scheduler preemption,"
            " not work done by the hook.",
            "",
        ]
    return lines
