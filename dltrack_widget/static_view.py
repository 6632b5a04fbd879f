"""The monitor's static snapshot: plain HTML of the last state, kept in the notebook.

A widget output is only a reference to a model living in the kernel; once the kernel is gone,
JupyterLab and Notebook 7 show "Error displaying widget: model not found", and nbviewer and
GitHub show nothing. So next to the widget the monitor displays a `text/html` output (this
module) and keeps it up to date with `update_display` while the kernel runs. The live front end
hides it (a rule in js/widget.css); without a kernel it is what the reader sees.

Everything here is escaped text from the snapshot, which never holds a secret; connection URLs
are left out all the same.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping
from typing import Any

from dltrack.viewing.terminal_format import order_metrics

#: Marks the snapshot's root element; js/widget.css hides it next to a live monitor.
STATIC_ATTR = "data-dltrack-static"
#: Epoch rows of the newest training kept in the snapshot.
EPOCH_ROWS = 10
KEY_SHOWN = 8

_STATUS_COLOURS = {
    "running": "#1565c0",
    "completed": "#2e7d32",
    "stopped": "#546e7a",
    "failed": "#c62828",
    "interrupted": "#8e44ad",
    "lost": "#b45309",
}
_CELL = "padding:2px 8px;border-bottom:1px solid rgba(128,128,128,.35);text-align:left"


def _metric(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "—" if value is None else str(value)
    return f"{value:.4g}"


def _text(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _pill(status: str) -> str:
    colour = _STATUS_COLOURS.get(status, "#808080")
    return (
        f'<span style="background:{colour};color:#fff;border-radius:999px;padding:0 8px;'
        f'font-size:11px;font-weight:600">{_text(status)}</span>'
    )


def _label(training: Mapping[str, Any]) -> str:
    number = training.get("number")
    return f"#{number}" if isinstance(number, int) and number > 0 else "#?"


def _summary_logs(training: Mapping[str, Any]) -> Mapping[str, Any]:
    final = training.get("final_logs") or {}
    if final:
        return final
    epochs = training.get("epochs") or []
    return epochs[-1].get("logs") or {} if epochs else {}


def _table(head: list[str], rows: list[list[str]]) -> str:
    ths = "".join(f'<th style="{_CELL}">{h}</th>' for h in head)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_CELL}">{cell}</td>' for cell in row) + "</tr>"
        for row in rows
    )
    return (
        '<div style="overflow-x:auto;max-width:100%">'
        f'<table style="border-collapse:collapse;font-variant-numeric:tabular-nums">'
        f"<thead><tr>{ths}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _trainings_table(trainings: list[Mapping[str, Any]]) -> str:
    names = order_metrics(n for t in trainings for n in _summary_logs(t))
    shown = [n for n in names if n not in ("learning_rate", "lr")][:4]
    rows = []
    for t in trainings:
        logs = _summary_logs(t)
        planned = t.get("epochs_planned") or "?"
        rows.append(
            [
                _text(_label(t)),
                _pill(str(t.get("status", ""))),
                _text(f"{t.get('epochs_done', 0)} / {planned}"),
                *(_text(_metric(logs.get(n))) for n in shown),
                _text(t.get("reason") or ""),
            ]
        )
    return _table(["#", "Status", "Epochs", *(_text(n) for n in shown), "Notes"], rows)


def _epochs_table(training: Mapping[str, Any]) -> str:
    epochs = list(training.get("epochs") or [])[-EPOCH_ROWS:]
    names = order_metrics(n for e in epochs for n in (e.get("logs") or {}))
    rows = []
    for e in epochs:
        logs = e.get("logs") or {}
        rows.append([_text(e.get("epoch", 0) + 1), *(_text(_metric(logs.get(n))) for n in names)])
    return _table(["epoch", *(_text(n) for n in names)], rows)


def render(snapshot: Mapping[str, Any]) -> str:
    """The HTML of one snapshot (a Watcher snapshot, finished trainings' epochs included)."""
    model = snapshot.get("model") or {}
    key = str(model.get("id") or "")  # the public id: the key never reaches the page
    short_key = f"{key[:KEY_SHOWN]}…" if len(key) > KEY_SHOWN else key
    trainings = list(snapshot.get("trainings") or [])
    now = snapshot.get("now")
    when = (
        dt.datetime.fromtimestamp(now, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        if isinstance(now, (int, float))
        else ""
    )
    parts = [
        f'<div {STATIC_ATTR}="1" style="font-family:system-ui,sans-serif;font-size:13px;'
        'line-height:1.45;max-width:100%;overflow:hidden">',
        f'<div style="font-size:16px;font-weight:600">{_text(model.get("name") or "dltrack")} '
        f'<code style="font-weight:normal;opacity:.7">{_text(short_key)}</code></div>',
        f'<div style="opacity:.7">dltrack monitor, last state{_text(" at " + when if when else "")}'
        " — run the cell to see it live.</div>",
    ]
    if snapshot.get("error"):
        parts.append(f"<p>⚠ {_text(snapshot['error'])}</p>")
    elif not trainings:
        parts.append("<p>No trainings yet for this model.</p>")
    else:
        newest = trainings[0]
        parts.append(
            f'<div style="margin-top:6px;font-weight:600">Training {_text(_label(newest))} '
            f"{_pill(str(newest.get('status', '')))}</div>"
        )
        if newest.get("epochs"):
            parts.append(_epochs_table(newest))
        parts.append('<div style="margin-top:6px;font-weight:600">Trainings</div>')
        parts.append(_trainings_table(trainings))
    parts.append("</div>")
    return "".join(parts)


def signature(snapshot: Mapping[str, Any]) -> tuple[Any, ...]:
    """Changes when the snapshot's HTML would (the current step's progress is not in it)."""
    model = snapshot.get("model") or {}
    return (
        model.get("name"),
        snapshot.get("error"),
        tuple(
            (t.get("training_id"), t.get("number"), t.get("status"), len(t.get("epochs") or []))
            for t in snapshot.get("trainings") or []
        ),
    )
