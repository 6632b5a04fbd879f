"""The report's reading of its own numbers: what they show, and what they do not."""

from __future__ import annotations

from typing import Any


def peers_setup(meta: dict[str, Any]) -> list[str]:
    m = meta["machine"]
    had = m.get("mlflow") != "not installed" and m.get("tensorboard") != "not installed"
    how = (
        "this run took them from a separate virtual environment layered over `.venv` (a"
        " `.pth` file), leaving `.venv` untouched, like this:"
        if had
        else "this run did not have them (hence *not run*); to include them, layer a separate"
        " virtual environment over `.venv` (a `.pth` file), leaving `.venv` untouched:"
    )
    return [
        "**TensorBoard and MLflow rows.** Neither `tensorboard` nor `mlflow` is a dltrack"
        " dependency, and `pip install mlflow` into the project's `.venv` would downgrade"
        " python-dateutil (4.0 -> 2.9) under the other packages; " + how,
        "",
        "```sh",
        "python3 -m venv /tmp/bench-peers",
        "echo \"import site; site.addsitedir('$PWD/.venv/lib/python3.11/site-packages')\" \\",
        "  > /tmp/bench-peers/lib/python3.11/site-packages/zz_dltrack_venv.pth",
        "/tmp/bench-peers/bin/pip install mlflow tensorboard",
        ".venv/bin/python tools/services.py run -- /tmp/bench-peers/bin/python -m bench.run_all",
        "```",
    ]


def _variant(data: dict[str, Any], model: str, name: str) -> dict[str, Any] | None:
    oh = data.get("overhead") or {}
    v = (oh.get("models") or {}).get(model, {}).get("variants", {}).get(name)
    return v if v and v.get("ratio") else None


def _r(v: dict[str, Any] | None) -> str:
    return f"{v['ratio']['median']:.2f}x" if v and v.get("ratio") else "not run"


def _overhead_text(data: dict[str, Any]) -> list[str]:
    oh = data.get("overhead") or {}
    models = oh.get("models") or {}
    if not models:
        return []
    out = []
    for model in models:
        m = models[model]
        alone = m.get("dltrack_alone") or {}
        local = alone.get("dltrack_local") or _variant(data, model, "dltrack_local")
        amqp = alone.get("dltrack_amqp") or _variant(data, model, "dltrack_amqp")
        light = [  # the spread of the cheap callbacks is the noise, not their own variation
            v["ratio"]
            for v in [*m["variants"].values(), *(m.get("dltrack_alone") or {}).values()]
            if v.get("ratio") and v["ratio"]["median"] < 1.5
        ]
        spread = max((r["q3"] - r["q1"] for r in light), default=0.0)
        costs = m.get("dltrack_cost") or {}
        share = ", ".join(
            f"{k.replace('dltrack_', '')} {100 * c['share']:.1f}% of the fit"
            f" ({100 * c.get('steady_share', float('nan')):.1f}% in the steady state)"
            for k, c in costs.items()
        )
        out.append(
            f"- **Overhead, {model.upper()}** ({m['ms_per_step']['median']:.2f} ms/step): dltrack"
            f" {_r(local)} (local) and {_r(amqp)} (RabbitMQ); the 2020 original's pattern"
            f" {_r(_variant(data, model, 'original_2020'))}, tqdm"
            f" {_r(_variant(data, model, 'tqdm'))}, TensorBoard per batch"
            f" {_r(_variant(data, model, 'tensorboard'))}, RemoteMonitor"
            f" {_r(_variant(data, model, 'remote_monitor'))}, MLflow per epoch"
            f" {_r(_variant(data, model, 'mlflow_epoch'))} and per step"
            f" {_r(_variant(data, model, 'mlflow_batch'))}. Interquartile ranges up to"
            f" {spread:.2f} among the cheap callbacks show how noisy wall time is on this"
            " shared machine (a median below"
            " 1.00 for a callback, which can only add work, is that noise's signature):"
            " differences of a few percent cannot be read from the ratios. The directly"
            " measured cost of dltrack"
            f" (hooks + background threads' CPU, as a share of the fit) is the sharper figure:"
            f" {share or 'not measured'}."
        )
    mlp, cnn = models.get("mlp"), models.get("cnn")
    if mlp:
        out.append(
            f"- The MLP here takes {mlp['ms_per_step']['median']:.2f} ms/step, less than the"
            " 2.6 ms/step of DESIGN.md §9's measurement, so any per-batch cost weighs more here"
            " than there. dltrack's steady-state cost is mostly its broker thread's polling (it"
            " wakes ~50 times a second to look for commands), a fixed ~1% of a core whatever"
            " the batch rate; the per-fit part (connecting, the final flush, disconnecting) is"
            " a few tens of ms. The Tracker's own work on the training thread is ~0.35 us per"
            " batch."
        )
    if cnn:
        seconds_per_epoch = cnn["ms_per_step"]["median"] * cnn["steps_per_epoch"] / 1000
        out.append(
            f"- The CNN's epochs last {seconds_per_epoch:.2f} s (the digits set has"
            f" {cnn['steps_per_epoch']} batches), so its per-epoch work (an epoch record, two"
            " store writes, an epoch_end message) comes several times a second, far more often"
            " than in a real training; that is why its store thread shows more CPU."
        )
    return out


def _latency_text(data: dict[str, Any]) -> list[str]:
    lat = data.get("latency") or {}
    out = []
    for backend, by_rate in (lat.get("backends") or {}).items():
        if "skipped" in by_rate:
            continue
        raw = {rate: r["raw"]["age_ms"] for rate, r in by_rate.items()}
        watcher = {rate: r["watcher"]["age_ms"] for rate, r in by_rate.items()}
        fresh = max(by_rate.values(), key=lambda r: r["raw"]["freshness_ms"]["p50"])
        out.append(
            f"- **Latency, {backend}**: the batch a raw feed shows is "
            + ", ".join(
                f"{a['p50']:.0f}/{a['p99']:.0f} ms old (p50/p99) at {rate}/s"
                for rate, a in raw.items()
            )
            + "; through the Watcher's listener "
            + ", ".join(
                f"{a['p50']:.0f}/{a['p99']:.0f} ms at {rate}/s" for rate, a in watcher.items()
            )
            + ". What the listener adds is its own rate limit (a token bucket of 12 calls/s,"
            " two back to back): a change that finds the bucket empty waits for it, which"
            " happens when a training's messages come in bursts (section 2b shows the limit's"
            " former drift and the fix). Any given"
            f" batch is shown within {fresh['raw']['freshness_ms']['p50']:.0f} ms (p50) /"
            f" {fresh['raw']['freshness_ms']['p99']:.0f} ms (p99) at the worst rate, because"
            " progress is deliberately coalesced to <= ~10 messages/s per training."
        )
    return out


def _stop_text(data: dict[str, Any]) -> list[str]:
    st = data.get("stop_time") or {}
    out = []
    for backend, r in (st.get("backends") or {}).items():
        if "skipped" in r:
            continue
        before = r.get("watcher_before")
        out.append(
            f"- **Stop, {backend}**: `stop_training` is set {r['watcher']['p50']:.0f} ms (p50) /"
            f" {r['watcher']['p99']:.0f} ms (p99) after `Watcher.stop_training`, and"
            f" {r['send_command']['p50']:.0f} / {r['send_command']['p99']:.0f} ms after a direct"
            " `Broker.send_command`"
            + (
                f"; before the Watcher woke its live thread for a command (which then waited"
                f" for the end of a 50 ms feed poll), {before['p50']:.0f} / {before['p99']:.0f}"
                " ms"
                if before
                else ""
            )
            + ". The viewer shows the acknowledgement"
            f" {r['watcher_ack']['p50']:.0f} ms (p50) after the click. With"
            f" {r['watcher']['n']} stops per path, the p99 is about the slowest one."
        )
    return out


def _scale_text(data: dict[str, Any]) -> list[str]:
    sc = data.get("scale") or {}
    sizes = sc.get("sizes") or {}
    if not sizes:
        return []
    one = sizes.get("1") or next(iter(sizes.values()))
    big = sizes.get("100") or list(sizes.values())[-1]
    per_training = one["messages_per_s"] / one["trainings"]
    w = big["store_writes_per_training"]
    out = [
        f"- **Scale**: one training publishes {per_training:.1f} messages/s whatever its batch"
        f" rate (<= 10 progress, 1 heartbeat, epoch events), about"
        f" {one['bytes_per_epoch_per_training'] / 1000:.1f} kB per epoch per viewer; so N"
        " trainings cost the broker ~N x that, times the number of viewers. Store writes per"
        f" training grow with epochs ({one['store_writes_per_training']['median']} for"
        f" {one['epochs_per_training']} epochs), never with batches"
        f" ({one['batches_per_training']} here).",
        f"- At N = {big['trainings']} (all {big['trainings']} simulated in"
        f" {big['processes']} processes on this 2-core machine) RabbitMQ used"
        f" {big['rabbitmq_cpu_pct'] or 0:.0f}% of a core for {big['messages_per_s']:.0f}"
        f" messages/s in and {big['deliveries_per_s']:.0f} out, and each viewer"
        f" {max(big['viewer_cpu_pct']):.0f}% at most; the {big['trainings']} Trackers took"
        f" {big['trainer_cpu_per_training_pct'] * big['trainings']:.0f}% together"
        f" ({big['trainer_cpu_per_training_pct']:.1f}% each, mostly their broker threads'"
        " polling). Progress per training was"
        f" {big['progress_per_training_per_s']:.1f}/s and its age"
        f" {big['progress_age_ms']['p50']:.0f} / {big['progress_age_ms']['p99']:.0f} ms"
        " (p50/p99). What gives first is this machine's two cores simulating every training,"
        " not the broker: in real use each Tracker runs on its own machine, and RabbitMQ's"
        f" share grows linearly, ~{(big['rabbitmq_cpu_pct'] or 0) / big['trainings']:.2f}% of a"
        f" core per training with {sc.get('viewers', 3) + 1} subscribers here.",
    ]
    expected = 2 * big["epochs_per_training"] + 2  # start, epoch + update per epoch, end
    left = w.get("records_left_in_spool", 0)
    if w["max"] > 1.5 * expected or w.get("min", expected) < expected or left:
        out.append(
            f"- Store writes per training at N = {big['trainings']}: median {w['median']}, range"
            f" {w.get('min', '?')}-{w['max']}, where one training alone makes {expected} (start,"
            " two per epoch, end); {left} record(s) were still in the spool when the trainings"
            " ended (kept on disk, written by the next training or `dltrack sync`, not lost)."
            " Trainings sharing a DLTRACK_HOME share one on-disk spool, and every store thread"
            " replays every pending row, so concurrent threads write the same rows more than"
            " once (idempotent: nothing is duplicated in the store, but writes multiply) and the"
            " last rows can miss the 5 s shutdown window. It only matters for many concurrent"
            " trainings on one machine.".replace("{left}", str(left))
        )
    return out


def text(data: dict[str, Any], meta: dict[str, Any]) -> list[str]:
    lines = ["## What this shows, and what it does not", ""]
    lines += _overhead_text(data)
    lines += _latency_text(data)
    lines += _stop_text(data)
    lines += _scale_text(data)
    lines += [
        "",
        "What it does not show:",
        "",
        "- A real network: RabbitMQ is on loopback. A hosted broker (CloudAMQP) adds its round"
        " trip (typically 20-100 ms) to latency and stop time; the training thread never waits"
        " for it, so overhead does not change.",
        "- Firestore: the store here is the local SQLite file. Store writes happen on the"
        " Tracker's store thread, O(epochs), so a slower store delays records, not training.",
        "- The browser: latency ends at the Watcher's state (what the widget's traits are set"
        " from); rendering in JupyterLab is not timed here.",
        "- GPUs, big models, multi-worker training: with longer steps every per-batch cost"
        " shrinks in proportion; the tiny MLP is the worst case for relative overhead.",
        "- The 2020 original itself: its publishing pattern is re-implemented"
        " (bench/original_2020.py) from the 2020 report; its HTTP calls per epoch are left out,"
        " which flatters it. tqdm writes to /dev/null, not a terminal.",
        "- Wall-time ratios below a few percent: the machine is shared, and the spread of the"
        " no-callback runs alone is of that size; the cost breakdown is measured directly for"
        " that reason.",
        "",
    ]
    return lines
