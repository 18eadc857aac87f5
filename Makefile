# Two commands on a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))' 2>/dev/null \
	&& echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench load migration mutation clean

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

# the cycle at 1k/10k/100k employees, then the console under 50 users (bench/load.py)
bench: $(VENV)/.installed
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.load

# 50 simulated console users for 3 minutes on SQLite (and PostgreSQL when configured)
load: $(VENV)/.installed
	$(BIN)/python -m bench.load

# Regenerate the initial migration from the models (only until the first release).
migration: $(VENV)/.installed
	$(BIN)/python tools/regen_initial_migration.py

# Mutation testing (mutmut; not in CI, not in `make test`) of the condition evaluator, decide()
# and the stage guards, on a copy laid out as the installed `promoflow` package (see
# [tool.mutmut]); prints each file's killed / total mutants. `mutmut browse` in build/mutation
# shows the survivors.
MUTATION := build/mutation
mutation: $(VENV)/.installed
	mkdir -p $(MUTATION)/promoflow
	rsync -a --delete --exclude __pycache__ \
		src/promoflow/ rules workflow engine scheduler console demo $(MUTATION)/promoflow/
	rsync -a --delete --exclude __pycache__ --exclude .hypothesis \
		tests pyproject.toml $(MUTATION)/
	rm -rf $(MUTATION)/mutants
	cd $(MUTATION) && $(CURDIR)/$(BIN)/mutmut run --max-children 2 >mutmut-run.log 2>&1 \
		|| { tail -30 mutmut-run.log; exit 1; }
	cd $(MUTATION) && $(CURDIR)/$(BIN)/python -c "$$MUTATION_SUMMARY"

define MUTATION_SUMMARY
import json, pathlib
from mutmut.stats import status_by_exit_code as status
for meta in sorted(pathlib.Path("mutants").rglob("*.py.meta")):
    codes = list(json.loads(meta.read_text())["exit_code_by_key"].values())
    kinds = [status[c] for c in codes]
    killed = kinds.count("killed")
    others = {k: kinds.count(k) for k in sorted(set(kinds)) if k != "killed"}
    name = str(meta.relative_to("mutants/promoflow"))[: -len(".meta")]
    print(f"{name:22} {killed:4} / {len(codes):4} killed = {killed / max(len(codes), 1):6.1%}  {others}")
endef
export MUTATION_SUMMARY

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache test-artifacts demo-output
