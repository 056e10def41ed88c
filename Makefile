# memlens: `make run` sets up and runs the main job; `make test` sets up and runs every check.
# Debian's own python3 is preferred: it is built with optimisations and is ~2x faster here.
PYTHON ?= $(shell [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null && echo /usr/bin/python3 || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit setup bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,elf,pages,watch,export]'
	touch $(STAMP)

setup: $(STAMP)

# The main job: who holds the RAM on this machine.
run: $(STAMP)
	$(BIN)/memlens top

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck unit

# Byte-compile first: PYTHONDONTWRITEBYTECODE may be set, and compiling at every start-up
# would be timed as memlens's cost.
bench: $(STAMP)
	$(BIN)/pip install --quiet -r bench/requirements.txt
	$(BIN)/python -m compileall -q src
	$(BIN)/python bench/maps_bench.py
	$(BIN)/python bench/top_bench.py
	$(BIN)/python bench/pages_bench.py
	$(BIN)/python bench/watch_bench.py

clean:
	rm -rf $(VENV) build src/*.egg-info
