"""dltrack's benchmarks. Nothing here is a test: wall-clock figures on a shared machine belong
in a document (docs/benchmarks.md), never in an assertion.

`python -m bench.NAME [--quick] [--out FILE.json] [--from FILE.json]` runs one and prints its
markdown tables; `python -m bench.run_all` (`make bench`) runs them all. A benchmark is a module
with `run(quick) -> dict` and `tables(result) -> str` that ends with
`runner.main(run, tables, __doc__)`; docs/benchmarks.md, "Adding a benchmark", says the rest.
"""
