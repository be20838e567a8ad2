# One entry point for people and CI. `make run` runs the demo stand, `make test` the suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test check lint typecheck contracts services bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

## run: start the demo stand (broker + simulated devices); Ctrl-C stops everything
run: $(STAMP)
	$(BIN)/dcs up

## services: install the real services the tests talk to (mosquitto, InfluxDB), when missing
services:
	@bash scripts/ensure-services.sh
	@bash scripts/ensure-deploy-tools.sh
	@bash scripts/ensure-ui-tools.sh

## test: import contracts and the whole test suite against real services
test: $(STAMP) services contracts
	$(BIN)/python -m pytest

contracts: $(STAMP)
	$(BIN)/lint-imports

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

## check: everything CI would want: lint, types, import contracts, tests
check: lint typecheck test

## bench: the benchmarks (figures go in the README)
bench: $(STAMP) services
	$(BIN)/python -m benchmarks.bench_stack
	$(BIN)/python -m benchmarks.bench_interlock
	$(BIN)/python -m benchmarks.bench_archive
	$(BIN)/python -m benchmarks.bench_daq

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
