"""Small output helpers shared by the listing commands."""

from __future__ import annotations

import json
import time
from typing import Any


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def when(ts: float | None) -> str:
    if not ts:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))
