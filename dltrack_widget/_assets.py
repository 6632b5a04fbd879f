"""The built front end (js/ → static/), shared by the widget and the `dltrack serve` page."""

from __future__ import annotations

import pathlib

from dltrack.wire.errors import ConfigError

STATIC = pathlib.Path(__file__).parent / "static"


def bundle(name: str) -> pathlib.Path:
    """A built file; a clear error when the front end was never built."""
    path = STATIC / name
    if not path.exists():
        raise ConfigError(
            f"the widget's front end is not built ({path} is missing): run `make js` "
            "(needs Node.js), or install dltrack from a wheel"
        )
    return path
