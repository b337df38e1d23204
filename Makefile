# `make test` is the README's test command: it installs into a virtual environment and
# runs the whole suite. `make check` is the gate: format, lint, types, contracts, tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: help install test lint format types contracts check serve bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python ## Install switchboard and its development tools
	$(BIN)/pip install --quiet -e '.[dev]'

test: install ## Install, then run the whole test suite (one xdist worker per core)
	$(BIN)/python -m pytest -n auto

format: install ## Format the code
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

lint: install ## Check formatting and lint rules
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench

types: install ## Type-check
	$(BIN)/mypy

contracts: install ## Check the import rules of docs/architecture.md
	$(BIN)/lint-imports

check: lint types contracts test ## Everything CI checks

serve: install ## Run the server on embedded defaults
	$(BIN)/switchboard serve

bench: install ## Run the benchmark (see bench/README.md)
	$(BIN)/python -m bench.run

clean: ## Remove the virtual environment and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
