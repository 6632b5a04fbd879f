"""Copy the best screenshots of the last browser-test run into docs/screenshots/, made small.

    .venv/bin/pytest tests/e2e            # writes test-artifacts/screenshots/*.png
    .venv/bin/python -m tests.e2e.publish_screenshots

Each picture is reduced to a 256-colour palette (the widget is flat colours and text, so this
is invisible) and at most 1000 px wide; a run where one of them is missing says which test to
run and copies nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "test-artifacts" / "screenshots"
TARGET = ROOT / "docs" / "screenshots"
MAX_WIDTH = 1000

_RULES = "test_a_rule_from_the_form_notifies_marks_the_charts_and_stop_waits_for_the_epoch"

# docs name ← test-artifacts name (tests/e2e/notebook_page.py `shoot`: TEST-STATE[-widget])
CHOSEN = {
    "live.png": "test_stop_a_training_in_another_process-lab-live-widget.png",
    "stopped.png": "test_stop_a_training_in_another_process-lab-stop-stopped-widget.png",
    "same-kernel-busy.png": "test_stop_a_training_in_this_kernel_while_its_cell_runs-lab-busy.png",
    "history.png": (
        "test_a_fresh_monitor_shows_earlier_trainings_and_their_epochs-history-widget.png"
    ),
    "dark.png": "test_the_widget_is_legible_in_light_and_dark_themes-dark-widget.png",
    "notebook7.png": "test_stop_a_training_in_another_process-notebook-live.png",
    "compact.png": "test_height_stays_bounded_and_a_phone_width_fits-lab-epoch-30-widget.png",
    "phone.png": "test_height_stays_bounded_and_a_phone_width_fits-lab-phone.png",
    "no-kernel.png": (
        "test_a_reopened_notebook_without_its_kernel_shows_the_last_state-lab-no-kernel.png"
    ),
    "compare.png": "test_compare_four_runs-lab-compare-four-widget.png",
    "charts.png": "test_hover_zoom_log_best_and_width-lab-log-time-widget.png",
    "stop-menu.png": f"{_RULES}-lab-stop-menu-widget.png",
    "rules-form.png": f"{_RULES}-lab-rules-form-widget.png",
    "chart-markers.png": f"{_RULES}-lab-chart-markers-widget.png",
    "serve-phone.png": "serve-phone-live.png",
    "serve-phone-stopped.png": "serve-phone-stopped.png",
}


def shrink(source: Path, target: Path) -> None:
    image = Image.open(source).convert("RGB")
    if image.width > MAX_WIDTH:
        height = round(image.height * MAX_WIDTH / image.width)
        image = image.resize((MAX_WIDTH, height), Image.Resampling.LANCZOS)
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)


def main() -> int:
    missing = [name for name in CHOSEN.values() if not (SOURCE / name).exists()]
    if missing:
        print(f"missing in {SOURCE} (run `pytest tests/e2e` first):", *missing, sep="\n  ")
        return 1
    TARGET.mkdir(parents=True, exist_ok=True)
    for docs_name, artifact in CHOSEN.items():
        shrink(SOURCE / artifact, TARGET / docs_name)
        size = (TARGET / docs_name).stat().st_size
        print(f"docs/screenshots/{docs_name}  {size / 1024:.0f} KiB  ← {artifact}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
