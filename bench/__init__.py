"""dltrack's benchmarks (docs/benchmarks.md). Nothing here is a test: wall-clock figures on a
shared machine belong in a document, never in an assertion.

Run one: `python -m bench.NAME [--quick] [--out FILE.json]`; all: `python -m bench.run_all`
(`make bench`). RabbitMQ rows need `DLTRACK_TEST_AMQP_URL` (`tools/services.py run -- ...`
sets it) and are marked "not run" without it.

Adding a benchmark, bench/NAME.py:

    from . import runner

    def run(quick: bool) -> dict:          # measure; JSON-able results
        return {"p": runner.tail(runner.repeat(work, 20 if quick else 200))}

    def tables(result: dict) -> str:       # markdown, to paste into docs/benchmarks.md
        return runner.table(["p50 ms", "p99 ms"], [[result["p"]["p50"] * 1e3, ...]])

    if __name__ == "__main__":
        runner.main(run, tables, __doc__)  # --quick, --out, --from; adds machine and date

then add NAME to `run_all.PARTS`. `--quick` must shorten every loop of `run`.
"""
