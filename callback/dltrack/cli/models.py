"""`dltrack models create|list|rename|delete`."""

from __future__ import annotations

from dltrack.cli.output import print_json, when
from dltrack.cli.parsing import Subparsers, command, group
from dltrack.viewing import catalog as api
from dltrack.wire.keys import check_name


def create(name: str, store: str | None, as_json: bool) -> int:
    model = api.create_model(name, store=store)
    if as_json:
        print_json({**model.to_json(), "key": model.key})
    else:
        print(f"created model {model.name!r}; its key (keep it secret, it grants control):")
        print(model.key)
    return 0


def list_models(store: str | None, as_json: bool) -> int:
    models = api.list_models(store=store)
    if as_json:
        # The keys belong to this machine's own output; a store without them gives "".
        print_json([{**m.to_json(), "key": m.key} for m in models])
        return 0
    if not models:
        print('no models yet: dltrack models create "my model"')
    for m in models:
        # A store that holds only ids (Firestore) shows the id: the key was printed once, at
        # `models create`, and is kept by its owner.
        print(f"{m.key or m.id}  {m.train_count:>4} trainings  {when(m.created_at)}  {m.name}")
    return 0


def delete(key: str, store: str | None) -> int:
    with api.open_settings_store(store) as opened:
        model = api.get_model(opened, key)
        opened.delete_model(model.id)
    print(f"deleted model {model.name!r} with its trainings")
    return 0


def rename(key: str, name: str, store: str | None) -> int:
    name = check_name(name)
    with api.open_settings_store(store) as opened:
        model = api.get_model(opened, key)
        opened.rename_model(model.id, name)
    print(f"renamed {model.name!r} to {name!r}")
    return 0


def add_parser(subparsers: Subparsers) -> None:
    actions = group(subparsers, "models", "create, list, rename and delete models")
    command(actions, "create", create, "create a model, print its key", json=True).add_argument(
        "name"
    )
    command(actions, "list", list_models, "list models", json=True)
    p = command(actions, "rename", rename, "rename a model")
    p.add_argument("key")
    p.add_argument("name")
    command(actions, "delete", delete, "delete a model and its trainings").add_argument("key")
