# One command per job; every target installs what it needs into .venv first.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-slow test-all check lint typecheck bench docs clean wheel-check

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

## The fast suite (SQLite always; PostgreSQL when reachable at SIGNALS_TEST_PG); no `slow` tests.
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q -m "not slow"

## The long real-data replays, crash loops and quality floors (the `slow` marker).
test-slow: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q -m slow

## The whole suite, as CI runs it.
test-all: test test-slow

## Build the wheel, install it into a fresh venv (pip's cache reused) and run `signals demo`
## from an empty directory: what `pip install .` gives, with no checkout beside it.
wheel-check: $(STAMP)
	PYTHON=$(PYTHON) scripts/wheel-check $(BIN)/python

lint: $(STAMP)
	$(BIN)/ruff check signals tests bench scripts
	$(BIN)/ruff format --check signals tests bench scripts
typecheck: $(STAMP)
	$(BIN)/mypy

## All checks, as CI runs them: lint, types, the whole suite, the wheel.
check: lint typecheck test-all wheel-check

## Regenerate the CLI reference in README.md from `--help`.
docs: $(STAMP)
	$(BIN)/cog -r README.md

bench: $(STAMP)
	$(BIN)/python bench/throughput.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache db/*.db* reports/*.md reports/*.html reports/*.json reports/demo
