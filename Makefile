# kakin — `make help` lists the targets.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: help install run demo test test-sqlite lint format bench bench-closing migration clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/kakin: pyproject.toml
	@command -v $(PY) >/dev/null || { echo "needs $(PY)"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

install: $(BIN)/kakin ## create .venv and install kakin with its development tools

run: install ## run kakin on SQLite (var/kakin.db) with a demo tenant, on http://127.0.0.1:8000
	$(BIN)/kakin demo
	$(BIN)/kakin serve

demo: install ## create (once) the demo tenant on the configured database and print API credentials
	$(BIN)/kakin demo

test: install ## the whole suite, on SQLite and on PostgreSQL (skipped when unreachable)
	$(BIN)/python -m pytest -n 2

test-sqlite: install ## the suite on SQLite only
	$(BIN)/python -m pytest -k "not postgresql"

lint: install ## ruff, ruff format, mypy --strict, import contracts, alembic check
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations
	$(BIN)/mypy
	$(BIN)/lint-imports
	rm -rf var/lint && mkdir -p var/lint && KAKIN_DATABASE_URL=sqlite:///var/lint/check.db $(BIN)/alembic upgrade head && KAKIN_DATABASE_URL=sqlite:///var/lint/check.db $(BIN)/alembic check

format: install ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests bench migrations
	$(BIN)/ruff format src tests bench migrations

bench: install ## the API benchmark on PostgreSQL (prints JSON)
	$(BIN)/python bench/api.py

bench-closing: install ## the closing benchmark on PostgreSQL: ingestion, 100k-contract closing, floor (JSON)
	$(BIN)/python bench/closing.py

migration: install ## regenerate the initial migration from the models (pre-release only)
	scripts/regenerate-initial-migration

clean: ## remove the virtual environment and local data
	rm -rf $(VENV) var
