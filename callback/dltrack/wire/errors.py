"""Errors a user can act on.

Every error raised at an entry point (CLI, magic, Python API) is a `DltrackError` whose message is
one line saying what is wrong and what to do. Entry points print the message, never a traceback.
"""


class DltrackError(Exception):
    """A problem the user can fix; the message says how."""


class ConfigError(DltrackError):
    """A malformed URL, key, path or argument."""


class MissingDependencyError(ConfigError, ImportError):
    """An optional package a URL or feature needs is not installed; the message names the
    `pip install` to run. An ImportError too, for code that imports the module directly."""


class UnknownModelError(DltrackError):
    """The model key or id is well-formed but no such model exists in the store."""

    def __init__(self, model_id: str) -> None:
        super().__init__(
            f"no model {model_id!r} (the public id of the key given) in this store; "
            "create one with `dltrack models create NAME` or check --store / DLTRACK_STORE_URL"
        )
        self.model_id = model_id


class BackendError(DltrackError):
    """A broker or store could not be reached or refused us (may be transient)."""


class DltrackWarning(UserWarning):
    """Something went wrong on the side (a sink down, a bad key); the training runs on."""
