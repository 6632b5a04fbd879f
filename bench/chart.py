"""docs/benchmarks.png: overhead ratios, live latency and stop time, in one figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def draw(png: Path, data: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(13, 8.5))
    oh = data.get("overhead") or {}
    for ax, name in zip(axes[0], ("mlp", "cnn"), strict=True):
        model = (oh.get("models") or {}).get(name)
        ax.set_title(f"fit() time / no callback: {name.upper()} (median, IQR)")
        if not model:
            ax.text(0.5, 0.5, "not run", ha="center", transform=ax.transAxes)
            continue
        alone = model.get("dltrack_alone") or {}
        rows = [  # dltrack's bars from its own A/B series, the measurement of the target
            {**v, "ratio": (alone.get(k) or {}).get("ratio") or v.get("ratio")}
            for k, v in model["variants"].items()
            if k != "none" and v.get("ratio")
        ]
        rows.sort(key=lambda v: v["ratio"]["median"])
        labels = [v["label"].split(" (")[0] for v in rows]
        med = [v["ratio"]["median"] for v in rows]
        low = [v["ratio"]["median"] - v["ratio"]["q1"] for v in rows]
        high = [v["ratio"]["q3"] - v["ratio"]["median"] for v in rows]
        colors = ["tab:green" if "dltrack" in v["label"] else "tab:gray" for v in rows]
        ax.barh(labels, med, xerr=[low, high], color=colors, capsize=3)
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.axvline(1.02, color="tab:green", linestyle="--", linewidth=0.8, label="target 1.02x")
        ax.set_xscale("log")
        top = max(v["ratio"]["q3"] for v in rows)
        steps = (1, 1.5, 2, 3, 5, 8, 12, 20) if top > 4 else (0.8, 0.9, 1, 1.1, 1.25, 1.5, 2, 3)
        ticks = [t for t in steps if t <= top * 1.3]
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("ratio (log scale)")
        ax.tick_params(axis="y", labelsize=8)
        ax.legend(loc="lower right", fontsize=8)
    _latency(axes[1][0], data.get("latency"))
    _stop(axes[1][1], data.get("stop_time"))
    fig.tight_layout()
    fig.savefig(png, dpi=90)
    plt.close(fig)


def _latency(ax: Any, lat: dict[str, Any] | None) -> None:
    ax.set_title("live latency: age of what the viewer shows (p50 bar, p99 tick)")
    if not lat or "backends" not in lat:
        ax.text(0.5, 0.5, "not run", ha="center", transform=ax.transAxes)
        return
    labels, raw50, raw99, w50, w99 = [], [], [], [], []
    for backend, by_rate in lat["backends"].items():
        if "skipped" in by_rate:
            continue
        for rate, r in by_rate.items():
            labels.append(f"{backend}\n{rate}/s")
            raw50.append(r["raw"]["age_ms"]["p50"])
            raw99.append(r["raw"]["age_ms"]["p99"])
            w50.append(r["watcher"]["age_ms"]["p50"])
            w99.append(r["watcher"]["age_ms"]["p99"])
    xs = list(range(len(labels)))
    left, right = [x - 0.2 for x in xs], [x + 0.2 for x in xs]
    ax.bar(left, raw50, width=0.38, color="tab:cyan", label="raw feed p50")
    ax.bar(right, w50, width=0.38, color="tab:blue", label="Watcher listener p50")
    ax.scatter(left + right, raw99 + w99, color="tab:red", marker="_", s=200, label="p99")
    ax.axhline(20, color="tab:blue", linestyle="--", linewidth=0.8, label="p50 target")
    ax.axhline(150, color="tab:red", linestyle="--", linewidth=0.8, label="p99 target")
    ax.set_xticks(xs, labels, fontsize=8)
    ax.set_ylabel("ms")
    ax.legend(fontsize=8)


def _stop(ax: Any, st: dict[str, Any] | None) -> None:
    ax.set_title("stop sent -> stop_training set (p50, p99)")
    if not st or "backends" not in st:
        ax.text(0.5, 0.5, "not run", ha="center", transform=ax.transAxes)
        return
    labels, p50, p99 = [], [], []
    for backend, r in st["backends"].items():
        if "skipped" in r:
            continue
        for path in ("watcher", "send_command"):
            labels.append(f"{backend}\n{path}")
            p50.append(r[path]["p50"])
            p99.append(r[path]["p99"])
    xs = range(len(labels))
    ax.bar(xs, p50, color="tab:purple", label="p50")
    ax.scatter(xs, p99, color="tab:red", marker="_", s=400, label="p99")
    ax.axhline(100, color="tab:red", linestyle="--", linewidth=0.8, label="target 100 ms")
    ax.set_xticks(list(xs), labels, fontsize=8)
    ax.set_ylabel("ms")
    ax.legend(fontsize=8)
