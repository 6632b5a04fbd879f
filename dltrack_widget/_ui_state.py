"""The `ui_state` trait's shape (docs/widget-state.md): what the front end may keep there.

The trait is saved into the .ipynb and written by the browser, so the kernel keeps only the
known keys with values of the expected form (js/uistate.js reads it the same way): ids, a tab
name, a chart axis name and a height. Anything else is dropped, never an error.
"""

from __future__ import annotations

import re
from typing import Any

TABS = ("epochs", "charts", "trainings", "params")
MAX_COMPARED = 50
MIN_HEIGHT, MAX_HEIGHT = 240, 4000
_ID = re.compile(r"[0-9a-f]{16}")
_AXIS = re.compile(r"[a-z_]{1,20}")


def _id(value: Any) -> str | None:
    return value if isinstance(value, str) and _ID.fullmatch(value) else None


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
        "height": (
            round(height)
            if isinstance(height, (int, float))
            and not isinstance(height, bool)
            and MIN_HEIGHT <= height <= MAX_HEIGHT
            else None
        ),
    }
