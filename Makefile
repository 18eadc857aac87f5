# Two commands on a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))' 2>/dev/null \
	&& echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench migration clean

$(BIN)/activate:
	@test -n "$(PYTHON)" || { echo "promoflow needs Python 3.11 or 3.12 (durable_rules fails on 3.13)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/activate pyproject.toml setup.py
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

demo: $(VENV)/.installed
	$(BIN)/promoflow demo

test: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/pytest

# ruff, then deptry (declared = imported dependencies) and vulture (dead code; what the
# frameworks call is listed in tools/vulture_used.py); configured in pyproject.toml
lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/deptry .
	$(BIN)/vulture

bench: $(VENV)/.installed
	$(BIN)/python -m bench.run

# Regenerate the initial migration from the models (only until the first release).
migration: $(VENV)/.installed
	$(BIN)/python tools/regen_initial_migration.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache test-artifacts demo-output
