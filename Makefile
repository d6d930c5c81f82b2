# The two set-up commands: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
HOST ?= 127.0.0.1
PORT ?= 8080
DATA_DIR ?= ./data

.PHONY: run test lint typecheck unit system-packages clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP_RUN): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[test]'
	touch $@ $(STAMP_RUN)

run: $(STAMP_RUN)
	TELEGUIDE_DATA_DIR=$(DATA_DIR) $(VENV)/bin/teleguide serve --host $(HOST) --port $(PORT) --demo

# System packages the end-to-end tests use (coturn, ffmpeg, Chromium), installed when missing.
system-packages:
	@bash scripts/install-system-packages.sh

lint: $(STAMP_TEST)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP_TEST)
	$(VENV)/bin/mypy sessions media annotations signaling tests

test: $(STAMP_TEST) system-packages lint typecheck
	bash scripts/ensure-services.sh
	$(VENV)/bin/pytest tests

unit: $(STAMP_TEST)
	$(VENV)/bin/pytest tests/unit -q

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache .ruff_cache
