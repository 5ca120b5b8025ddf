# One command per job; every target installs what it needs into .venv first.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test check lint typecheck bench clean wheel-check

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (Python 3.11+)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Run the whole pipeline offline on the bundled demo corpus and write a digest into reports/.
demo: $(STAMP)
	$(BIN)/signals demo

## The test suite (SQLite always; PostgreSQL when reachable at SIGNALS_TEST_PG).
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

## Build the wheel, install it into a fresh venv (pip's cache reused) and run `signals demo`
## from an empty directory: what `pip install .` gives, with no checkout beside it.
wheel-check: $(STAMP)
	PYTHON=$(PYTHON) scripts/wheel-check $(BIN)/python

lint: $(STAMP)
	$(BIN)/ruff check signals tests bench
typecheck: $(STAMP)
	$(BIN)/mypy

## All checks, as CI runs them: lint, types, tests.
check: lint typecheck test wheel-check

bench: $(STAMP)
	$(BIN)/python bench/throughput.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache db/*.db* reports/*.md reports/*.html reports/*.json reports/demo
