"""docs/benchmarks.md and docs/benchmarks.png from the parts' JSON results."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .markdown import (
    ALONE,
    FULL,
    MAKE,
    TARGET_P50_MS,
    TARGET_P99_MS,
    TARGET_RATIO,
    TARGET_STOP_MS,
    num,
    ratio,
    table,
    verdict,
    why_missing,
)
from .report_live import latency_section, pacing_section, scale_section, stop_section
from .report_overhead import overhead_section


def _header(meta: dict[str, Any]) -> list[str]:
    m = meta["machine"]
    quick = " (**--quick smoke run: too short for conclusions**)" if meta.get("quick") else ""
    return [
        "# Benchmarks: dltrack side by side with the alternatives",
        "",
        "<!-- Written by `python -m bench.run_all` (bench/report.py); edits here are lost. -->",
        "",
        f"Reproduce everything with `{MAKE}` (that is `{FULL}`; about 20 minutes), or one part"
        f" with `{ALONE.format(part='PART')}` where PART is overhead, latency, pacing,"
        " stop_time or scale; each takes `--quick` for a smoke run. `tools/services.py run`"
        " provides RabbitMQ and sets `DLTRACK_TEST_AMQP_URL`; without it the RabbitMQ rows say"
        " *not run*.",
        "",
        f"This run{quick}: `{meta['command']}`, finished {m['date']},"
        f" {meta.get('took_s', 0) / 60:.0f} min in all.",
        "",
        f"- Machine: {m['cores']} cores ({m['cpu']}), {m['ram']} RAM, {m['os']}. **Shared**:"
        " a virtual machine whose cores other work may use at any time, so wall times are"
        " noisy; every figure is a median with its spread, runs are alternated, and nothing"
        " here is asserted in a test.",
        f"- Versions: Python {m['python']}, TensorFlow {m['tensorflow']} (CPU), Keras"
        f" {m['keras']}, pika {m['pika']}, tqdm {m['tqdm']}, TensorBoard"
        f" {m.get('tensorboard', '?')}, MLflow {m['mlflow']}, RabbitMQ {m['rabbitmq']}"
        " (loopback).",
        "",
        "![overhead, latency and stop time](benchmarks.png)",
        "",
    ]


def _summary(data: dict[str, Any]) -> list[str]:
    rows = []
    oh = data.get("overhead")
    if oh and "models" in oh:
        mlp = oh["models"].get("mlp", {})
        for backend in ("local", "amqp"):
            name = f"dltrack_{backend}"
            r = (mlp.get("dltrack_alone", {}).get(name) or {}).get("ratio")
            cost = mlp.get("dltrack_cost", {}).get(name)
            attributable = (
                f"; cost measured directly: {100 * cost['share']:.1f}% of this fit,"
                f" {100 * cost.get('steady_share', float('nan')):.1f}% steady state"
                if cost
                else ""
            )
            # The direct cost is an upper bound and immune to the machine's noise: within the
            # target, the target is met. Otherwise the wall-time ratio decides only when even
            # its lower quartile is over the target; in between, the noise hides the answer.
            ok: bool | str | None = None
            if cost and cost["share"] <= TARGET_RATIO - 1:
                ok = True
            elif r and r["q1"] > TARGET_RATIO:
                ok = False
            elif r:
                ok = "unresolved"
            rows.append(
                [
                    f"fit() time, tiny MLP, dltrack {backend}",
                    f"<= {TARGET_RATIO}x",
                    (ratio(r) + attributable)
                    if r
                    else mlp.get("variants", {}).get(name, {}).get("skipped") or "-",
                    verdict(ok),
                ]
            )
        hook = oh.get("hook", {}).get("local", {}).get("hook_us")
        if hook:
            rows.append(
                [
                    "on_train_batch_end on the training thread",
                    "a few us",
                    f"p50 {hook['p50']:.2f} us, p99 {hook['p99']:.2f} us",
                    verdict(hook["p99"] < 10),
                ]
            )
    lat = data.get("latency")
    if lat and "backends" in lat:
        for backend, rows_by_rate in lat["backends"].items():
            if "skipped" in rows_by_rate:
                rows.append([f"live latency, {backend}", "", rows_by_rate["skipped"], "not run"])
                continue
            for path, what in (
                ("raw", "raw update feed"),
                ("watcher", "Watcher listener (what the widget gets)"),
            ):
                ages = [r[path]["age_ms"] for r in rows_by_rate.values()]
                worst = max(ages, key=lambda a: a["p99"])
                worst50 = max(a["p50"] for a in ages)
                ok = (
                    None
                    if math.isnan(worst["p99"])
                    else worst50 <= TARGET_P50_MS and worst["p99"] <= TARGET_P99_MS
                )
                rows.append(
                    [
                        f"batch end -> {what}, {backend}: age of the batch shown",
                        f"p50 <= {TARGET_P50_MS:.0f} ms, p99 <= {TARGET_P99_MS:.0f} ms",
                        f"worst rate: p50 {worst50:.0f} ms, p99 {worst['p99']:.0f} ms",
                        verdict(ok),
                    ]
                )
            fresh = [r["raw"]["freshness_ms"] for r in rows_by_rate.values()]
            worst_fresh = max(fresh, key=lambda a: a["p50"])
            rows.append(
                [
                    f"every batch -> first update that shows it ({backend}, raw feed)",
                    "(includes coalescing to <= 10/s)",
                    f"worst rate: p50 {worst_fresh['p50']:.0f} ms, p99 {worst_fresh['p99']:.0f} ms",
                    "~50 ms at high rates by design (see 2.)",
                ]
            )
    st = data.get("stop_time")
    if st and "backends" in st:
        for backend, r in st["backends"].items():
            if "skipped" in r:
                rows.append([f"stop -> stop_training ({backend})", "", r["skipped"], "not run"])
                continue
            w = r["watcher"]
            rows.append(
                [
                    f"Stop (Watcher.stop_training) -> stop_training set ({backend})",
                    f"<= {TARGET_STOP_MS:.0f} ms + current batch",
                    f"p50 {w['p50']:.0f} ms, p99 {w['p99']:.0f} ms",
                    verdict(w["p99"] <= TARGET_STOP_MS + 1000 / 100),
                ]
            )
    sc = data.get("scale")
    if sc and sc.get("sizes"):
        big = sc["sizes"].get("100") or list(sc["sizes"].values())[-1]
        rows.append(
            [
                f"{big['trainings']} concurrent trainings on one RabbitMQ",
                "bounded message rate",
                f"{big['messages_per_s']:.0f} msg/s in, {big['deliveries_per_s']:.0f} out; "
                f"RabbitMQ CPU {num(big['rabbitmq_cpu_pct'], 0)}%",
                "see 4.",
            ]
        )
    if not rows:
        return []
    return ["## Summary", "", *table(["what", "target", "measured", ""], rows), ""]


def _not_run(data: dict[str, Any]) -> list[str]:
    missing = []
    for part, d in data.items():
        why = why_missing(d)
        if why:
            missing.append(f"- {part}: {why}")
    oh = data.get("overhead") or {}
    seen = set()
    for model in (oh.get("models") or {}).values():
        for v in model["variants"].values():
            if v.get("skipped") and v["label"] not in seen:
                seen.add(v["label"])
                missing.append(f"- {v['label']}: {v['skipped']}")
    for backend, h in (oh.get("hook") or {}).items():
        if "skipped" in h:
            missing.append(f"- on_train_batch_end timing, {backend}: {h['skipped']}")
    for part in ("latency", "pacing", "stop_time"):
        for backend, r in ((data.get(part) or {}).get("backends") or {}).items():
            if "skipped" in r:
                missing.append(f"- {part}, {backend}: {r['skipped']}")
    if (data.get("scale") or {}).get("skipped"):
        missing.append(f"- scale: {data['scale']['skipped']}")
    return missing


def write(md: Path, png: Path, meta: dict[str, Any], data: dict[str, Any]) -> None:
    from . import chart

    lines = _header(meta)
    lines += _summary(data)
    lines += overhead_section(data.get("overhead"))
    lines += latency_section(data.get("latency"))
    lines += pacing_section(data.get("pacing"))
    lines += stop_section(data.get("stop_time"))
    lines += scale_section(data.get("scale"))
    from . import analysis

    lines += analysis.text(data, meta)
    missing = _not_run(data)
    lines += ["## What was not run, and why", ""]
    lines += missing or ["Everything ran."]
    lines += ["", *analysis.peers_setup(meta), ""]
    md.write_text("\n".join(lines).rstrip() + "\n")
    chart.draw(png, data)
