"""Sections 2-4 of docs/benchmarks.md: live latency, pacing, stop time, scale."""

from __future__ import annotations

from typing import Any

from .markdown import ALONE, num, table, why_missing


def latency_section(lat: dict[str, Any] | None) -> list[str]:
    lines = [
        "## 2. Live latency: batch end in the training process -> viewer in another process",
        "",
        f"Command: `{ALONE.format(part='latency')}`. A child process drives a real Tracker's hooks"
        " from a paced plain-Python loop at 10, 100 and 1000 batches/s (5 s epochs) with a fake"
        " model object; each batch end is stamped (`time.monotonic()`, one clock for all"
        " processes) into the logs as `t_sent`. This process watches through a raw"
        " `Broker.subscribe_updates` feed parsed with `protocol.parse_update` (*raw*) and through"
        " a real `Watcher` listener, which is what the widget and `dltrack watch` receive (at"
        " most 12 calls/s) (*watcher*). Two measures:",
        "",
        "- **age**: when an update arrives, how long ago the batch it reports ended: how stale"
        " the viewer's state is (the pipeline's own delay; DESIGN.md §9's target).",
        "- **freshness**: for *every* batch, the time from its end to the first update that"
        " reports it or a later batch. The Tracker coalesces progress to <= 10 messages/s, so at"
        " 100 and 1000 batches/s a batch waits on average ~50 ms (up to ~100 ms) for the next"
        " message; this is that design choice showing, not a delay in transport.",
        "",
    ]
    why = why_missing(lat)
    if why or lat is None:
        return [*lines, why or "", ""]
    rows = []
    for backend, by_rate in lat["backends"].items():
        if "skipped" in by_rate:
            rows.append([backend, "not run", by_rate["skipped"], "", "", "", ""])
            continue
        for rate, r in by_rate.items():
            raw, w = r["raw"], r["watcher"]
            rows.append(
                [
                    backend,
                    rate,
                    f"{num(raw['age_ms']['p50'])} / {num(raw['age_ms']['p99'])}",
                    f"{num(w['age_ms']['p50'])} / {num(w['age_ms']['p99'])}",
                    f"{num(raw['freshness_ms']['p50'])} / {num(raw['freshness_ms']['p99'])}",
                    f"{num(w['freshness_ms']['p50'])} / {num(w['freshness_ms']['p99'])}",
                    f"{raw['updates_per_s']:.1f} ({r['batches']} batches)",
                ]
            )
    lines += table(
        [
            "broker",
            "batches/s",
            "age raw p50 / p99 ms",
            "age watcher p50 / p99 ms",
            "freshness raw p50 / p99 ms",
            "freshness watcher p50 / p99 ms",
            "progress msgs/s",
        ],
        rows,
    )
    lines.append("")
    return lines


def pacing_section(pc: dict[str, Any] | None) -> list[str]:
    lines = [
        "### 2b. The two rate limits, before and after their fixes",
        "",
        f"Command: `{ALONE.format(part='pacing')}`. Between a batch and a viewer sit two rate"
        " limits: the Tracker's progress messages (<= ~10/s) and the Watcher's listener calls"
        " (what the widget and `dltrack watch` get; formerly <= 10/s). Both used to time each"
        " interval from their own previous send, so at ~10 updates/s they drifted behind the"
        " updates and each update waited up to a whole interval. The Tracker now paces"
        " progress by the batches' own end times (`broker_link.py`); the Watcher's limit is now"
        " a token bucket of 12 calls/s (a little above what one training sends, two back to"
        " back) that heartbeats saying only 'alive' do not use up, and a change goes out the"
        " moment the bucket allows instead of after a whole 50 ms feed poll (`watcher.py`). Three"
        " variants alternated at 10 batches/s, the former versions swapped in"
        " (`bench/pacing.py`, `bench/watcher_before.py`); medians over rounds:",
        "",
    ]
    why = why_missing(pc)
    if why or pc is None:
        return [*lines, why or "", ""]
    rows = []
    for backend, by in pc["backends"].items():
        if "skipped" in by:
            rows.append([backend, "not run", by["skipped"], "", "", "", ""])
            continue
        for name in ("before", "tracker fixed", "both fixed"):
            r = by.get(name)
            if r:
                rows.append(
                    [
                        backend,
                        name,
                        f"{num(r['age_p50_ms'])} / {num(r['age_p99_ms'])}",
                        f"{num(r['watcher_age_p50_ms'])} / {num(r['watcher_age_p99_ms'])}",
                        num(r["freshness_p50_ms"]),
                        num(r["progress_per_s"], 2),
                        num(r["listener_calls_per_s"], 2),
                    ]
                )
    lines += table(
        [
            "broker",
            "variant",
            "raw feed age p50 / p99 ms",
            "Watcher listener age p50 / p99 ms",
            "raw freshness p50 ms",
            "progress msgs/s",
            "listener calls/s",
        ],
        rows,
    )
    lines += ["", f"Rounds: {pc['rounds']}.", ""]
    return lines


def stop_section(st: dict[str, Any] | None) -> list[str]:
    lines = [
        "## 3. Stop: command sent -> `stop_training` set in the training process",
        "",
        f"Command: `{ALONE.format(part='stop_time')}`. A child process runs trainings on demand"
        " (a real Tracker at 100 batches/s, so *plus the current batch* is <= 10 ms). Once the"
        " viewer sees the training, this process waits a random 0-300 ms, stamps the time and"
        " sends a stop, in turn through `Watcher.stop_training` (the Stop button's and"
        " `dltrack stop`'s path, via the Watcher's live thread), through the same as it was"
        " before it woke its live thread for a command (*before*: the command waited for the"
        " end of a 50 ms feed poll; `bench/watcher_before.py`), and through"
        " `Broker.send_command` directly; the child stamps the moment `stop_training` becomes"
        " True. *ack shown*: until the Watcher's state shows the training's acknowledgement.",
        "",
    ]
    why = why_missing(st)
    if why or st is None:
        return [*lines, why or "", ""]
    rows = []
    for backend, r in st["backends"].items():
        if "skipped" in r:
            rows.append([backend, "not run", r["skipped"], "", "", ""])
            continue
        before = r.get("watcher_before") or {"p50": None, "p99": None, "n": 0}
        rows.append(
            [
                backend,
                f"{num(r['watcher']['p50'])} / {num(r['watcher']['p99'])}",
                f"{num(before['p50'])} / {num(before['p99'])}",
                f"{num(r['send_command']['p50'])} / {num(r['send_command']['p99'])}",
                f"{num(r['watcher_ack']['p50'])} / {num(r['watcher_ack']['p99'])}",
                str(r["watcher"]["n"] + before["n"] + r["send_command"]["n"]),
            ]
        )
    lines += table(
        [
            "broker",
            "Watcher.stop_training p50 / p99 ms",
            "before (no wake) p50 / p99 ms",
            "Broker.send_command p50 / p99 ms",
            "ack shown p50 / p99 ms",
            "stops",
        ],
        rows,
    )
    lines.append("")
    return lines


def scale_section(sc: dict[str, Any] | None) -> list[str]:
    lines = [
        "## 4. Scale: N concurrent trainings on one RabbitMQ, several viewers",
        "",
        f"Command: `{ALONE.format(part='scale')}`. N real Trackers driven by plain-Python loops"
        " (200 batches/s each, 200-batch epochs) in up to 4 processes, all trainings of one model;"
        " 3 real Watchers, each in its own process, plus one raw feed that counts messages and"
        " bytes and times every progress update's age. Each Tracker's Store is wrapped and its"
        " write calls counted per training. RabbitMQ's CPU is read from /proc.",
        "",
    ]
    why = why_missing(sc)
    if why or sc is None:
        return [*lines, why or "", ""]
    if sc.get("skipped"):
        return [*lines, f"Not run: {sc['skipped']}.", ""]
    rows = []
    for n, r in sc["sizes"].items():
        w = r["store_writes_per_training"]
        rows.append(
            [
                n,
                f"{r['messages_per_s']:.0f} / {r['deliveries_per_s']:.0f}",
                num(r["progress_per_training_per_s"]),
                f"{r['bytes_per_epoch_per_training']:.0f}",
                f"{w['median']} ({w.get('min', '?')}-{w['max']}) for"
                f" {r['epochs_per_training']} epochs,"
                f" {r['batches_per_training']} batches",
                f"{num(r['progress_age_ms']['p50'], 0)} / {num(r['progress_age_ms']['p99'], 0)}",
                num(r["rabbitmq_cpu_pct"], 0),
                ", ".join(f"{c:.0f}" for c in r["viewer_cpu_pct"]),
                num(r["trainer_cpu_per_training_pct"], 2),
                num(r["trainer_loop_late_p99_ms"], 0),
            ]
        )
    lines += table(
        [
            "N",
            "msgs/s in / delivered",
            "progress/s per training",
            "bytes per epoch per training (one viewer)",
            "store writes per training",
            "progress age p50 / p99 ms",
            "RabbitMQ CPU %",
            "viewers' CPU %",
            "tracker CPU % per training",
            "driver loop late p99 ms",
        ],
        rows,
    )
    lines.append("")
    return lines
