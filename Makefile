# hubspoke: two commands set up a new machine (Python 3.11, make, package registries).
#   make report  synthetic data -> cleaning -> every notebook -> HTML reports with an index page
#   make test    the whole test suite
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# Debian's Chromium drives the browser tests of the funder HTML (never a browser download).
CHROMIUM := /usr/bin/chromium
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: report test test-quick check lab bench lint distclean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q src
	touch $(STAMP)

## The main job: raw synthetic data (only if data/raw holds none), cleaning, reports.
## The package is byte-compiled first, as pip compiles every package it installs: the editable
## install does not, and where PYTHONDONTWRITEBYTECODE is set nothing caches the bytecode, so
## each process (workers, kernels) would compile the package's modules again (0.1-0.2 s each).
report: $(STAMP)
	$(BIN)/python -m compileall -q src
	$(BIN)/hubspoke synth --if-empty
	$(BIN)/hubspoke clean
	$(BIN)/hubspoke report

$(CHROMIUM):
	@echo "Installing Debian's chromium for the browser tests..."
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

## The whole test suite, slow end-to-end tests included (browser, JupyterLab, batch runs),
## after the static checks.
test: $(STAMP) $(CHROMIUM) check
	$(BIN)/python -m pytest

## Static checks: ruff (lint and format, notebooks included), the type checker on src/,
## and the layering contract (.importlinter: imports point down the data flow, no cycles).
check: $(STAMP)
	$(BIN)/ruff check src tests bench notebooks
	$(BIN)/ruff format --check src tests bench notebooks
	$(BIN)/mypy
	$(BIN)/lint-imports

## Quick tests only, while developing.
test-quick: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

## JupyterLab on the notebooks (local only).
lab: $(STAMP)
	$(BIN)/python -m compileall -q src
	$(BIN)/jupyter lab --ip=127.0.0.1 notebooks/

bench: $(STAMP)
	$(BIN)/python bench/run_all.py
	$(BIN)/python bench/release_solve.py --write
	$(BIN)/python bench/national.py --write
	$(BIN)/python bench/calibration.py --write

lint: check

distclean:
	rm -rf $(VENV)
