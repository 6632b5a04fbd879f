"""The `dltrack` command: models, trainings, watch, stop, demo, doctor, sync.

Every command resolves its broker and store like the Tracker does (arguments, then the
environment, then the local default). A user mistake prints one line and exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from dltrack.training.sync import sync_spool
from dltrack.viewing import catalog as api
from dltrack.wire import config
from dltrack.wire.errors import ConfigError, DltrackError, UnknownModelError
from dltrack.wire.keys import check_name

EXIT_USAGE = 2
EXIT_FAILED = 1


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def _ago(ts: float | None) -> str:
    if not ts:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


# -- models ---------------------------------------------------------------------------------


def cmd_models_create(args: argparse.Namespace) -> int:
    model = api.create_model(args.name, store=args.store)
    if args.json:
        _print_json(model.to_json())
    else:
        print(f"created model {model.name!r}; its key (keep it secret, it grants control):")
        print(model.key)
    return 0


def cmd_models_list(args: argparse.Namespace) -> int:
    models = api.list_models(store=args.store)
    if args.json:
        _print_json([m.to_json() for m in models])
        return 0
    if not models:
        print('no models yet: dltrack models create "my model"')
    for m in models:
        print(f"{m.key}  {m.train_count:>4} trainings  {_ago(m.created_at)}  {m.name}")
    return 0


def cmd_models_delete(args: argparse.Namespace) -> int:
    with api.open_settings_store(args.store) as store:
        model = api.get_model(store, args.key)
        store.delete_model(model.key)
    print(f"deleted model {model.name!r} with its trainings")
    return 0


def cmd_models_rename(args: argparse.Namespace) -> int:
    name = check_name(args.name)
    with api.open_settings_store(args.store) as store:
        model = api.get_model(store, args.key)
        store.rename_model(model.key, name)
    print(f"renamed {model.name!r} to {name!r}")
    return 0


# -- trainings ------------------------------------------------------------------------------


def cmd_trainings_dispatch(args: argparse.Namespace) -> int:
    # argparse cannot mix a positional KEY with a `delete` sub-command, so split by hand.
    words = args.words
    if len(words) == 1:
        args.key = words[0]
        return cmd_trainings(args)
    if len(words) == 3 and words[0] == "delete":
        args.key, args.training = words[1], words[2]
        return cmd_trainings_delete(args)
    raise ConfigError("usage: dltrack trainings KEY | dltrack trainings delete KEY TRAINING")


def cmd_trainings(args: argparse.Namespace) -> int:
    with api.open_settings_store(args.store) as store:
        model = api.get_model(store, args.key)
        trainings = store.list_trainings(model.key)
        if args.json or args.csv:
            rows = [
                {**t.to_json(), "epochs": [e.to_json() for e in store.list_epochs(model.key, tid)]}
                for t in trainings
                if (tid := t.training_id)
            ]
    if args.csv:
        api.write_csv(rows, sys.stdout)
        return 0
    if args.json:
        _print_json({"model": model.to_json(), "trainings": rows})
        return 0
    print(f"{model.name}  ({len(trainings)} trainings)")
    from dltrack.viewing.terminal_format import logs

    for t in trainings:
        planned = t.params.get("epochs") or "?"
        print(
            f"#{t.number:<3} {t.status:<11} {t.epochs_done}/{planned} epochs  "
            f"{_ago(t.started_at)}  {t.training_id}  {logs(t.final_logs, limit=4)}"
        )
    return 0


def cmd_trainings_delete(args: argparse.Namespace) -> int:
    with api.open_settings_store(args.store) as store:
        model = api.get_model(store, args.key)
        training = api.find_training(store, model.key, args.training)
        store.delete_training(model.key, training.training_id)
    print(f"deleted training #{training.number} of {model.name!r}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from dltrack.viewing.terminal_format import logs, sparkline

    with api.open_settings_store(args.store) as store:
        model = api.get_model(store, args.key)
        t = api.find_training(store, model.key, args.training)
        epochs = store.list_epochs(model.key, t.training_id)
    if args.json:
        _print_json({**t.to_json(), "epochs": [e.to_json() for e in epochs]})
        return 0
    print(f"{model.name} #{t.number} ({t.training_id}) {t.status}")
    for name, value in t.params.items():
        print(f"  {name:<20} {value}")
    for e in epochs:
        print(f"  epoch {e.epoch + 1:>4}  {logs(e.logs, limit=12)}")
    metrics = sorted({n for e in epochs for n in e.logs})
    for name in metrics:
        series = [e.logs[name] for e in epochs if name in e.logs]
        print(f"  {name:<16} {sparkline(series)}  last {series[-1]:.4g}")
    return 0


# -- live -----------------------------------------------------------------------------------


def cmd_watch(args: argparse.Namespace) -> int:
    from dltrack.cli.live import watch

    return watch(args)


def cmd_stop(args: argparse.Namespace) -> int:
    from dltrack.cli.live import stop

    return stop(args)


def cmd_demo(args: argparse.Namespace) -> int:
    from dltrack.cli.live import demo

    return demo(args)


def cmd_doctor(args: argparse.Namespace) -> int:
    from dltrack.cli.doctor import run_checks

    settings = config.resolve(args.broker, args.store)
    ok = True
    for check in run_checks(settings):
        ok = ok and check.ok
        print(f"{'OK  ' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
    return 0 if ok else EXIT_FAILED


def cmd_sync(args: argparse.Namespace) -> int:
    written, left = sync_spool(store=args.store)
    print(f"wrote {written} spooled record(s) to the store; {left} left")
    return 0 if left == 0 else EXIT_FAILED


# -- parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--broker", help="broker URL (default: DLTRACK_BROKER_URL or local)")
    common.add_argument("--store", help="store URL (default: DLTRACK_STORE_URL or local)")
    json_flag = argparse.ArgumentParser(add_help=False)
    json_flag.add_argument("--json", action="store_true", help="machine-readable output")

    parser = argparse.ArgumentParser(
        prog="dltrack", description="Watch and stop Keras trainings, from any machine."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    models = sub.add_parser("models", help="create, list, rename and delete models")
    msub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    p = msub.add_parser("create", parents=[common, json_flag], help="create a model, print its key")
    p.add_argument("name")
    p.set_defaults(func=cmd_models_create)
    p = msub.add_parser("list", parents=[common, json_flag], help="list models")
    p.set_defaults(func=cmd_models_list)
    p = msub.add_parser("delete", parents=[common], help="delete a model and its trainings")
    p.add_argument("key")
    p.set_defaults(func=cmd_models_delete)
    p = msub.add_parser("rename", parents=[common], help="rename a model")
    p.add_argument("key")
    p.add_argument("name")
    p.set_defaults(func=cmd_models_rename)

    p = sub.add_parser(
        "trainings",
        parents=[common, json_flag],
        help="list a model's trainings, or delete one",
        usage=(
            "dltrack trainings KEY [--json | --csv]\n       dltrack trainings delete KEY TRAINING"
        ),
    )
    p.add_argument("words", nargs="+", metavar="KEY")
    p.add_argument("--csv", action="store_true", help="every epoch as CSV rows")
    p.set_defaults(func=cmd_trainings_dispatch)

    p = sub.add_parser("show", parents=[common, json_flag], help="one training's epochs")
    p.add_argument("key")
    p.add_argument("training", help="training number (3) or id")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("watch", parents=[common, json_flag], help="live bars in the terminal")
    p.add_argument("key")
    p.add_argument(
        "--until-end", action="store_true", help="exit once the running training(s) have ended"
    )
    p.add_argument("--timeout", type=_seconds, help="exit after this many seconds")
    p.set_defaults(func=cmd_watch)

    p = sub.add_parser("stop", parents=[common], help="stop a running training")
    p.add_argument("key")
    p.add_argument("--training", help="training number or id (default: every running one)")
    p.add_argument("--after-epoch", action="store_true", help="stop once this epoch ends")
    p.add_argument("--wait", action="store_true", help="also wait until the training has ended")
    p.add_argument("--timeout", type=_seconds, default=15.0, help="seconds to wait for an answer")
    p.set_defaults(func=cmd_stop)

    p = sub.add_parser("demo", parents=[common], help="train a small CNN and watch it live")
    p.add_argument("--epochs", type=_count, default=10)
    p.add_argument("--step-delay", type=_seconds, default=0.02, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("doctor", parents=[common], help="check the broker and store settings")
    p.set_defaults(func=cmd_doctor)
    p = sub.add_parser("sync", parents=[common], help="write spooled records to the store")
    p.set_defaults(func=cmd_sync)
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number above 0")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if hasattr(args, "store"):
            # Validate both URLs up front, also for commands that use only the store: a
            # malformed --broker must not pass silently.
            config.resolve(args.broker, args.store)
        return int(args.func(args))
    except DltrackError as exc:
        print(f"dltrack: error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, (ConfigError, UnknownModelError)) else EXIT_FAILED
    except KeyboardInterrupt:
        return 130
