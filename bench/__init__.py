"""dltrack's benchmarks, side by side with the alternatives (docs/benchmarks.md).

`python -m bench.run_all` runs every part and rewrites docs/benchmarks.md; each part also runs
alone (`python -m bench.overhead`, `bench.latency`, `bench.stop_time`, `bench.scale`), each
with `--quick` for a smoke run. Parts that need RabbitMQ read `DLTRACK_TEST_AMQP_URL` (set by
`tools/services.py run -- …`) and report "not run" without it. Nothing here is a test: wall-clock
numbers on a shared machine belong in a report, never in an assertion.
"""
