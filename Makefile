# One word per workflow. `make demo` and `make test` set everything up first.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test test-fast lint format js js-test bench bench-scale screenshots dist clean

setup:                 ## venv, Python packages, widget front end
	tools/setup.sh

# Ctrl+C during the demo reaches the CLI alone: it takes the terminal's foreground for itself
# while it watches, so neither make nor a non-interactive shell dies under its question.
demo: setup            ## train a small CNN and watch it live in this terminal (embedded default)
	$(BIN)/dltrack demo

test: lint             ## every test: unit, contract, real RabbitMQ/Firestore/Keras, browser
	tools/setup.sh --test
	cd js && npm test --silent
	$(BIN)/python tools/services.py run -- $(BIN)/pytest

test-fast: setup       ## the tests that need no servers and no browser
	$(BIN)/pytest -m "not e2e and not amqp and not firestore"

lint: setup            ## ruff, formatting, mypy, the layer contracts, tsc over the front end
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	cd js && npx --no-install tsc -p tsconfig.json

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

js:                    ## rebuild the front end into dltrack_widget/static/
	cd js && npm ci --no-audit --no-fund && npm run build

js-test:
	cd js && npm ci --no-audit --no-fund --loglevel=error && npm test

bench: setup           ## run every benchmark; prints the tables for docs/benchmarks.md
	$(BIN)/python tools/services.py run -- $(BIN)/python -m bench.run_all $(BENCH_ARGS)

bench-scale: setup     ## 100 -> 1,000 trainings on one RabbitMQ (~8 min; BENCH_ARGS=--quick: ~1 min)
	$(BIN)/python tools/services.py run -- $(BIN)/python -m bench.scale $(BENCH_ARGS)

screenshots: setup    ## copy the browser tests' best screenshots into docs/screenshots
	$(BIN)/python -m tests.e2e.publish_screenshots

dist: setup js         ## sdist + wheel in dist/ (front end bundled inside)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .

clean:
	rm -rf $(VENV) js/node_modules tools/firebase/node_modules dltrack_widget/static dist .services .pytest_cache .mypy_cache \
		.ruff_cache .hypothesis test-artifacts
