# jobdeck: `make demo` to see it, `make test` to check it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENDOR := src/jobdeck/web/static/vendor

.PHONY: demo test lint typecheck unit assets services screenshots bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev,postgres]'
	touch $(STAMP)

# Front-end packages come from npm (package.json + package-lock.json); nothing built is committed.
assets: $(VENDOR)/.built

$(VENDOR)/.built: package.json package-lock.json scripts/copy-assets.sh
	npm ci --no-audit --no-fund --silent
	bash scripts/copy-assets.sh $(VENDOR)
	touch $@

# Options for `jobdeck demo`, e.g. make demo ARGS='--port 5600'
ARGS ?=

demo: $(STAMP) assets
	$(BIN)/jobdeck demo $(ARGS)

services:
	@bash scripts/ensure-services.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) assets services lint typecheck
	$(BIN)/python -m pytest -q -p no:cacheprovider

screenshots: $(STAMP) assets services
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .mypy_cache .ruff_cache .pytest_cache
