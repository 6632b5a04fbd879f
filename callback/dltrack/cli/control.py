"""`dltrack lr | pause | resume | checkpoint | rules`: steer a running training.

Each sends one command and exits 0 once the training carried it out (the new learning rate,
the checkpoint's path…), or prints one line saying why not and exits 1. `add_parser` adds the
commands; `dltrack stop --save` lives with `stop` (cli/live.py).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from dltrack.cli.live import answer_of
from dltrack.cli.parsing import Subparsers, command, group, seconds
from dltrack.training.sync import SyncReport
from dltrack.viewing import catalog as api
from dltrack.viewing.watcher import Watcher, default_sender
from dltrack.wire.errors import ConfigError

FINAL = ("done", "failed", "refused", "undelivered")


def _steer(
    key: str,
    broker: str | None,
    store: str | None,
    training: str | None,
    what: str,
    send: Callable[[Watcher, str | None], str],
    timeout: float,
) -> int:
    """Open a Watcher, send one command to the training(s) and report its outcome."""
    with Watcher(key, broker=broker, store=store, sender=default_sender(f"dltrack {what}")) as w:
        training_id = None
        if training:
            with api.open_settings_store(store) as opened:
                training_id = api.find_training(opened, key, training).training_id
        return run_command(w, lambda: send(w, training_id), timeout)


def run_command(
    watcher: Watcher, send: Callable[[], str], timeout: float, final: tuple[str, ...] = FINAL
) -> int:
    """Send, wait for the outcome, print it; the exit status."""
    advice = "try again with a longer --timeout"
    command = answer_of(watcher, send(), final, timeout, advice)
    if command["state"] == "done":
        print(command["detail"] or f"{command['kind']}: done")
        return 0
    if command["state"] == "acknowledged":
        print(f"{command['kind']} acknowledged")
        return 0
    what = {"refused": "the training refused", "failed": "it failed"}.get(command["state"], "")
    print(f"dltrack: {what + ': ' if what else ''}{command['detail']}", file=sys.stderr)
    return 1


def parse_lr(text: str) -> dict[str, float]:
    """`0.001` → a value; `x0.5` (or `*0.5`, or the multiplication sign) → a factor."""
    factor = text[:1] in ("x", "*", "\u00d7")
    try:
        number = float(text[1:] if factor else text)
    except ValueError:
        number = float("nan")
    if not (number > 0 and number != float("inf")):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a learning rate above 0 (0.001) or a factor above 0 (x0.5)"
        )
    return {"factor": number} if factor else {"value": number}


def lr(
    key: str,
    rate: dict[str, float],
    broker: str | None,
    store: str | None,
    training: str | None,
    timeout: float,
) -> int:
    return _steer(
        key,
        broker,
        store,
        training,
        "lr",
        lambda w, tid: w.set_lr(**rate, training_id=tid),
        timeout,
    )


def _simple(kind: str) -> Callable[..., int]:
    def run(
        key: str, broker: str | None, store: str | None, training: str | None, timeout: float
    ) -> int:
        return _steer(key, broker, store, training, kind, lambda w, tid: w.send(kind, tid), timeout)

    return run


def rules(
    key: str,
    rules_action: str,
    broker: str | None,
    store: str | None,
    training: str | None,
    timeout: float,
    rule: dict[str, Any],
) -> int:
    if rules_action == "list":
        with Watcher(key, broker=broker, store=store) as w:
            training_id = None
            if training:
                with api.open_settings_store(store) as opened:
                    training_id = api.find_training(opened, key, training).training_id
            return _list_rules(w, training_id)
    if rules_action == "remove":
        if not rule.get("id"):
            raise ConfigError("usage: dltrack rules remove KEY --id RULE_ID")
        return _steer(
            key,
            broker,
            store,
            training,
            "rules",
            lambda w, tid: w.remove_rule(rule["id"], tid),
            timeout,
        )
    if not (rule.get("when") and rule.get("action")):
        raise ConfigError(
            "usage: dltrack rules add KEY --when WHEN --action ACTION [--metric M] "
            "[--value V] [--patience N] [--factor F]"
        )
    rule.setdefault("id", f"{rule['when']}-{rule.get('metric', 'loss')}")
    return _steer(
        key, broker, store, training, "rules", lambda w, tid: w.add_rule(rule, tid), timeout
    )


def _list_rules(watcher: Watcher, training_id: str | None) -> int:
    snap = watcher.snapshot()
    shown = [
        t
        for t in snap["trainings"]
        if (training_id is None and t["status"] in ("running", "lost"))
        or t["training_id"] == training_id
    ]
    if not shown:
        print("no running training", file=sys.stderr)
        return 1
    for t in shown:
        print(f"training #{t['number']}: {len(t['rules'])} rule(s)")
        for rule in t["rules"]:
            print(f"  {rule['describe']}")
    return 0


def print_events(events: list[dict[str, Any]]) -> None:
    """`dltrack show`'s list of what happened to a training, one line each."""
    import time

    for e in events:
        when = time.strftime("%H:%M:%S", time.localtime(e["at"]))
        where = f"epoch {e['epoch'] + 1}" if e.get("epoch") is not None else "-"
        by = f"  by {e['sender']}" if e.get("sender") else ""
        failed = "" if e.get("ok", True) else " FAILED"
        print(f"  {when} {where:<10} {e['kind']}{failed}: {e.get('detail') or ''}{by}")


def report_sync(report: SyncReport) -> int:
    """What `dltrack sync` did, and what it could not do, in words; the exit status."""
    print(f"wrote {report.written} spooled record(s) to the store; {report.left} left")
    if report.unwritable:
        ids = ", ".join(report.trainings[:5]) + (" …" if len(report.trainings) > 5 else "")
        print(
            f"{report.unwritable} record(s) of {len(report.trainings)} training(s) ({ids}) "
            "cannot be written: the store has no such model (deleted, or lost by the store)"
        )
        if report.exported_to is not None:
            print(f"exported them to {report.exported_to}")
        if report.discarded:
            print(f"discarded them ({report.discarded} record(s))")
        else:
            print(
                "they are kept; `dltrack sync --export FILE` writes them to a file, "
                "`dltrack sync --discard` drops them"
            )
    return 0 if report.left == 0 else 1


RULE_FIELDS = ("id", "when", "metric", "value", "patience", "mode", "rule_action", "factor")


def _target(p: Any) -> None:
    p.add_argument("key")
    p.add_argument("--training", help="training number or id (default: every running one)")
    p.add_argument("--timeout", type=seconds, default=30.0, help="seconds to wait for the outcome")


def _rules(
    key: str,
    action: str,
    broker: str | None,
    store: str | None,
    training: str | None,
    timeout: float,
    **fields: Any,
) -> int:
    rule = {("action" if n == "rule_action" else n): v for n, v in fields.items() if v is not None}
    return rules(key, action, broker, store, training, timeout, rule)


def _rules_command(action: str) -> Callable[..., int]:
    def run(
        key: str,
        broker: str | None,
        store: str | None,
        training: str | None,
        timeout: float,
        id: str | None = None,
        when: str | None = None,
        metric: str | None = None,
        value: float | None = None,
        patience: int | None = None,
        mode: str | None = None,
        rule_action: str | None = None,
        factor: float | None = None,
    ) -> int:
        return _rules(
            key,
            action,
            broker,
            store,
            training,
            timeout,
            id=id,
            when=when,
            metric=metric,
            value=value,
            patience=patience,
            mode=mode,
            rule_action=rule_action,
            factor=factor,
        )

    return run


def add_parser(subparsers: Subparsers) -> None:
    """`dltrack lr | pause | resume | checkpoint | rules list|add|remove`."""
    p = command(subparsers, "lr", lr, "set the learning rate: VALUE, or xFACTOR")
    _target(p)
    p.add_argument("rate", type=parse_lr, metavar="VALUE|xFACTOR")
    for kind, text in (
        ("pause", "hold a training after the current batch"),
        ("resume", "resume a paused training"),
        ("checkpoint", "save the model (.keras) where it trains"),
    ):
        _target(command(subparsers, kind, _simple(kind), text))
    actions = group(subparsers, "rules", "list, add or remove a training's rules (docs/control.md)")
    for action, text in (
        ("list", "the rules a training holds"),
        ("add", "attach a rule"),
        ("remove", "remove a rule by --id"),
    ):
        p = command(actions, action, _rules_command(action), text)
        _target(p)
        if action == "list":
            continue
        p.add_argument("--id", help="the rule's name (add: default WHEN-METRIC)")
        if action == "remove":
            continue
        p.add_argument("--when", choices=("above", "below", "plateau", "nan", "after"))
        p.add_argument("--metric", help="e.g. val_loss (default loss)")
        p.add_argument("--value", type=float, help="threshold, or minutes for --when after")
        p.add_argument("--patience", type=int, help="epochs without improvement (plateau)")
        p.add_argument("--mode", choices=("min", "max"), help="plateau: which way is better")
        p.add_argument(
            "--action",
            dest="rule_action",
            choices=("notify", "checkpoint", "stop", "save_and_stop", "set_lr"),
        )
        p.add_argument("--factor", type=float, help="set_lr: multiply the rate by this")
