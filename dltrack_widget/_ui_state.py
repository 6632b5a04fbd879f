"""The `ui_state` trait's shape (docs/widget-state.md): what the front end may keep there.

The trait is saved into the .ipynb and written by the browser, so the kernel keeps only the
known keys with values of the expected form (js/uistate.js reads it the same way): ids, a tab
name, the charts' axis, smoothing, log scale and best-epoch goals, and a height. Anything else
is dropped, never an error.
"""

from __future__ import annotations

import re
from typing import Any

TABS = ("epochs", "charts", "trainings", "params")
MAX_COMPARED = 50
MIN_HEIGHT, MAX_HEIGHT = 240, 4000
_ID = re.compile(r"[0-9a-f]{16}")
_AXIS = re.compile(r"[a-z_]{1,20}")
# Best-epoch goals by metric name (the charts): metric-like names only, "min" or "max".
_GOAL_NAME = re.compile(r"[\w.\-/]{1,100}")
MAX_GOALS = 50


def _id(value: Any) -> str | None:
    return value if isinstance(value, str) and _ID.fullmatch(value) else None


def _goals(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    goals = {
        k: v
        for k, v in value.items()
        if isinstance(k, str) and _GOAL_NAME.fullmatch(k) and v in ("min", "max")
    }
    return dict(list(goals.items())[:MAX_GOALS])


def _smoothing(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 0.99
    return float(value) if ok else None


def clean_ui_state(value: Any) -> dict[str, Any]:
    """The valid part of a proposed `ui_state`."""
    if not isinstance(value, dict):
        return {}
    compare = value.get("compare")
    ids = [i for i in compare if _id(i)] if isinstance(compare, list) else []
    height = value.get("height")
    axis = value.get("axis")
    return {
        "tab": value.get("tab") if value.get("tab") in TABS else None,
        "selected": _id(value.get("selected")),
        "compare": list(dict.fromkeys(ids))[:MAX_COMPARED],
        "axis": axis if isinstance(axis, str) and _AXIS.fullmatch(axis) else None,
        "smoothing": _smoothing(value.get("smoothing")),
        "log": value.get("log") if isinstance(value.get("log"), bool) else None,
        "goals": _goals(value.get("goals")),
        "height": (
            round(height)
            if isinstance(height, (int, float))
            and not isinstance(height, bool)
            and MIN_HEIGHT <= height <= MAX_HEIGHT
            else None
        ),
    }
