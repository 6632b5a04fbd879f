# The dltrack monitor in marimo: `mo.ui.anywidget` wraps the same TrainingMonitor that
# Jupyter shows.
#
#     pip install "dltrack[widget]" marimo
#     marimo edit notebooks/marimo_monitor.py -- --key YOUR_MODEL_KEY
#     marimo run notebooks/marimo_monitor.py -- --key YOUR_MODEL_KEY    # as an app
#
# The broker and store come from DLTRACK_BROKER_URL / DLTRACK_STORE_URL, else the embedded
# default, as everywhere else.

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="full")


@app.cell
def _():
    import marimo as mo

    from dltrack_widget import TrainingMonitor

    return TrainingMonitor, mo


@app.cell
def _(TrainingMonitor, mo):
    key = mo.cli_args().get("key")
    if not key:
        mo.stop(True, mo.md("Start marimo with `-- --key MODEL_KEY` (from `dltrack models create`)."))
    monitor = mo.ui.anywidget(TrainingMonitor(str(key)))
    monitor
    return (monitor,)


if __name__ == "__main__":
    app.run()
