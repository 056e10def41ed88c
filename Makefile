# memlens: `make run` sets up and runs the main job; `make test` sets up and runs every check.
# Debian's own python3 is preferred: it is built with optimisations and is ~2x faster here.
PYTHON ?= $(shell [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null && echo /usr/bin/python3 || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The compiled twins of the hot parsers and renderers (setup.py; C sources named _*.c). Built
# again when one changes; where no compiler is, memlens installs and runs without them.
NATIVE_SRC := $(wildcard src/memlens/*/_*.c src/memlens/*/*/_*.c)
NATIVE := $(VENV)/.native

.PHONY: run test test-as-nobody lint typecheck unit setup bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,elf,pages,watch,export,report,serve,browser]'
	touch $(STAMP)

$(NATIVE): $(STAMP) setup.py $(NATIVE_SRC)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(NATIVE)

setup: $(STAMP) $(NATIVE)

# The main job: who holds the RAM on this machine.
run: $(NATIVE)
	$(BIN)/memlens top

lint: $(NATIVE)
	$(BIN)/ruff check src tests bench setup.py
	$(BIN)/ruff format --check src tests bench setup.py

typecheck: $(NATIVE)
	$(BIN)/mypy

unit: $(NATIVE)
	$(BIN)/pytest -q

test: lint typecheck unit

# `make test` as user nobody (run this as root): a copy of this tree that nobody owns, with a
# venv of its own (set up by root, which has the package index), under /tmp. The tests that
# need root skip, each saying why.
NOBODY_TREE ?= /tmp/memlens-as-nobody
test-as-nobody:
	rm -rf $(NOBODY_TREE) && mkdir -p $(NOBODY_TREE)
	tar -c --exclude=./.venv --exclude=./.git --exclude=__pycache__ --exclude=./.mypy_cache \
	  --exclude=./.ruff_cache --exclude=./.pytest_cache . | tar -x -C $(NOBODY_TREE)
	$(MAKE) -C $(NOBODY_TREE) setup
	chown -R nobody:nogroup $(NOBODY_TREE)
	cd $(NOBODY_TREE) && setpriv --reuid=nobody --regid=nogroup --clear-groups \
	  env HOME=$(NOBODY_TREE) $(MAKE) test

# Byte-compile first: PYTHONDONTWRITEBYTECODE may be set, and compiling at every start-up
# would be timed as memlens's cost. speed_bench.py runs maps_bench.py and top_bench.py, then
# times start-up and one in-process scan, and prints the four rows side by side.
bench: $(NATIVE)
	$(BIN)/pip install --quiet -r bench/requirements.txt
	$(BIN)/python -m compileall -q src
	$(BIN)/python bench/speed_bench.py
	$(BIN)/python bench/pages_bench.py
	$(BIN)/python bench/watch_bench.py

clean:
	rm -rf $(VENV) build src/*.egg-info

# The explanations' translations (memlens demo): extract the English texts, update each
# language's .po (new texts get empty translations), compile the .mo files. Both are committed;
# tests/unit/test_demo_text.py checks that they are complete and agree.
.PHONY: catalogues
catalogues: $(STAMP)
	mkdir -p build
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --sort-output -o build/memlens.pot .
	$(BIN)/pybabel update -i build/memlens.pot -d src/memlens/locale -D memlens --no-fuzzy-matching
	$(BIN)/pybabel compile -D memlens -d src/memlens/locale --statistics
