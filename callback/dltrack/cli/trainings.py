"""`dltrack trainings list|show|delete`."""

from __future__ import annotations

import sys

from dltrack.cli.output import print_json, when
from dltrack.cli.parsing import Subparsers, command, group
from dltrack.viewing import catalog as api
from dltrack.viewing.terminal_format import (
    logs,
    metric,
    order_metrics,
    param_rows,
    sparkline,
    with_markers,
)
from dltrack.wire.protocol import NON_FINITE


def list_trainings(key: str, store: str | None, as_json: bool, csv: bool) -> int:
    with api.open_settings_store(store) as opened:
        model = api.get_model(opened, key)
        trainings = opened.list_trainings(model.id)
        if as_json or csv:
            rows = [
                {**t.to_json(), "epochs": [e.to_json() for e in opened.list_epochs(model.id, tid)]}
                for t in trainings
                if (tid := t.training_id)
            ]
    if csv:
        api.write_csv(rows, sys.stdout)
        return 0
    if as_json:
        print_json({"model": model.to_json(), "trainings": rows})
        return 0
    print(f"{model.name}  ({len(trainings)} trainings)")
    for t in trainings:
        planned = t.params.get("epochs") or "?"
        print(
            f"#{t.number:<3} {t.status:<11} {t.epochs_done}/{planned} epochs  "
            f"{when(t.started_at)}  {t.training_id}  {logs(t.final_logs, limit=4)}"
        )
    return 0


def show(key: str, training: str, store: str | None, as_json: bool) -> int:
    with api.open_settings_store(store) as opened:
        model = api.get_model(opened, key)
        t = api.find_training(opened, model.id, training)
        epochs = opened.list_epochs(model.id, t.training_id)
        events = opened.list_events(model.id, t.training_id)
    if as_json:
        print_json({**t.to_json(), "epochs": [e.to_json() for e in epochs], "events": events})
        return 0
    print(f"{model.name} #{t.number} ({t.training_id}) {t.status}")
    for label, value in param_rows(t.params):
        print(f"  {label:<20} {value}")
    # NaN and infinite metrics are shown as their markers ("nan"), never skipped: a
    # TerminateOnNaN run's last loss is "nan", not the epoch before's value.
    rows = [with_markers(e.to_json()) for e in epochs]
    for e, row in zip(epochs, rows, strict=True):
        print(f"  epoch {e.epoch + 1:>4}  {logs(row, limit=12)}")
    for name in order_metrics(n for row in rows for n in row):
        series = [row[name] for row in rows if name in row]
        numbers = [NON_FINITE[v] if isinstance(v, str) else v for v in series]
        print(f"  {name:<16} {sparkline(numbers)}  last {metric(series[-1])}")
    if events:
        from dltrack.cli.control import print_events

        print("  events:")
        print_events(events)
    return 0


def delete(key: str, training: str, store: str | None) -> int:
    with api.open_settings_store(store) as opened:
        model = api.get_model(opened, key)
        found = api.find_training(opened, model.id, training)
        opened.delete_training(model.id, found.training_id)
    print(f"deleted training #{found.number} of {model.name!r}")
    return 0


def add_parser(subparsers: Subparsers) -> None:
    actions = group(subparsers, "trainings", "list, show and delete a model's trainings")
    p = command(actions, "list", list_trainings, "a model's trainings", json=True)
    p.add_argument("key")
    p.add_argument("--csv", action="store_true", help="every epoch as CSV rows")
    p = command(actions, "show", show, "one training: parameters, epochs, sparklines", json=True)
    p.add_argument("key")
    p.add_argument("training", help="training number (3) or id")
    p = command(actions, "delete", delete, "delete one training")
    p.add_argument("key")
    p.add_argument("training", help="training number (3) or id")
