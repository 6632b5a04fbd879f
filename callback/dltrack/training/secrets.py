"""`use_secrets()`: read dltrack's settings from Kaggle secrets or Colab's `userdata`.

Kaggle and Colab keep secrets out of the notebook file; this copies the dltrack settings (the
training token from `dltrack grant`, or the broker and store settings) from there into the
environment, where the Tracker and the widget look. Values are never
printed or returned, only the names that were found.
"""

from __future__ import annotations

import os
from collections.abc import Callable

SETTINGS = (
    "DLTRACK_TRAINING_TOKEN",
    "DLTRACK_BROKER_URL",
    "DLTRACK_STORE_URL",
    "DLTRACK_FIRESTORE_CREDENTIALS",
)


def _kaggle() -> Callable[[str], str | None] | None:
    try:
        from kaggle_secrets import UserSecretsClient
    except ImportError:
        return None
    client = UserSecretsClient()

    def get(name: str) -> str | None:
        try:
            return str(client.get_secret(name))
        except Exception:  # noqa: BLE001 - Kaggle raises a bare Exception for a missing secret
            return None

    return get


def _colab() -> Callable[[str], str | None] | None:
    try:
        from google.colab import userdata
    except ImportError:
        return None

    def get(name: str) -> str | None:
        try:
            return str(userdata.get(name))
        except Exception:  # noqa: BLE001 - SecretNotFoundError / NotebookAccessError vary by version
            return None

    return get


def use_secrets(names: tuple[str, ...] = SETTINGS) -> list[str]:
    """Copy dltrack settings from Kaggle secrets / Colab userdata into `os.environ`.

    Settings already in the environment are kept. Returns the names now set (never values).
    """
    sources = [s for s in (_kaggle(), _colab()) if s is not None]
    found = []
    for name in names:
        if not os.environ.get(name):
            for source in sources:
                value = source(name)
                if value:
                    os.environ[name] = value
                    break
        if os.environ.get(name):
            found.append(name)
    return found
