"""Markdown helpers and shared wording for the benchmark report."""

from __future__ import annotations

import math
from typing import Any

MAKE = "make bench"
FULL = ".venv/bin/python tools/services.py run -- .venv/bin/python -m bench.run_all"
ALONE = ".venv/bin/python tools/services.py run -- .venv/bin/python -m bench.{part}"
TARGET_RATIO = 1.02
TARGET_P50_MS, TARGET_P99_MS, TARGET_STOP_MS = 20.0, 150.0, 100.0


def num(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def ratio(s: dict[str, Any] | None) -> str:
    if not s:
        return "-"
    return f"**{s['median']:.3f}x** [{s['q1']:.3f}-{s['q3']:.3f}]"


def why_missing(part: dict[str, Any] | None) -> str | None:
    if part is None:
        return "not run (this part was not selected)"
    if "failed" in part:
        return f"failed: {part['failed']}"
    return None


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def verdict(ok: bool | str | None) -> str:
    """`ok` from comparisons: NaN (no samples) compares False, so callers pass None then."""
    if ok is None:
        return "not measured"
    if isinstance(ok, str):
        return "within the noise (the direct cost is an upper bound)"
    return "met" if ok else "**missed**"
