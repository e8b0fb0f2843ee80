# jobdeck: `make demo` to see it, `make test` to check it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENDOR := src/jobdeck/web/static/vendor

.PHONY: demo test unit lint typecheck assets services screenshots dist clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# constraints.txt pins every Python package to the versions the suite last passed with (CI installs the same).
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt -e '.[dev,postgres]'
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
	$(BIN)/ruff check src tests bench hatch_build.py
	$(BIN)/ruff format --check src tests bench hatch_build.py

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) assets services lint typecheck
	$(BIN)/python -m pytest -q -p no:cacheprovider

# The fast part alone: pure functions, no services, no browser.
unit: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit

# A wheel and an sdist in dist/, with the front-end files (hatch_build.py refuses a build without them).
dist: $(STAMP) assets
	rm -rf dist
	$(BIN)/python -m build --outdir dist

screenshots: $(STAMP) assets services
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) node_modules $(VENDOR) dist .mypy_cache .ruff_cache .pytest_cache
