# Developer entry points. CI runs `make lint` and `make test` (see .ci/run).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Two stamps: what `make run` needs (runtime dependencies only), and what the tests and lint need
# on top (the `test` extras: pytest, ruff, mypy, Playwright...). The second keeps its old name,
# so a venv made before the split is still a complete one.
RUN_STAMP := $(VENV)/.runtime-stamp
STAMP     := $(VENV)/.installed-stamp

.PHONY: run demo test test-fast lint format bench clean docs docs-examples

$(RUN_STAMP): pyproject.toml
	@echo "installing runtime dependencies into $(VENV) (about a minute, once)…"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(STAMP): pyproject.toml
	@echo "installing runtime and test dependencies into $(VENV) (a few minutes, once)…"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(RUN_STAMP)

## run: embedded PostgreSQL + migrations + daemon, upload and API on ENERGY_DEV_BIND (default 127.0.0.1:8080); Ctrl-C stops all
# The busy-port check comes first: a port in use fails in a second, not after the install.
run:
	@PYTHON=$(PYTHON) ./scripts/check-port
	@$(MAKE) --no-print-directory $(RUN_STAMP)
	@PATH="$(CURDIR)/$(BIN):$$PATH" ./scripts/run

## demo: load the demo campus (docs/demo.md) into what `make run` runs (or, with none running, into its database)
demo: $(RUN_STAMP)
	@ENERGY_SPOOL_DIR="$${ENERGY_SPOOL_DIR:-$(CURDIR)/var/spool}" \
	ENERGY_SITE_FILE="$${ENERGY_SITE_FILE:-$(CURDIR)/examples/site.toml}" $(BIN)/energy-ingest demo

## test: the whole suite (ENERGY_TEST_DATABASE_URL=postgresql://... to use a server)
test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

## test-fast: all but the browser, nginx, daemon and slow tests (about a minute; see docs/development.md)
test-fast: $(STAMP)
	$(BIN)/pytest -m "not (browser or nginx or daemon or slow)" $(PYTEST_ARGS)

## docs-examples: run every console example of README.md and docs/ against make run + make demo, writing the real output back (tests/docs_examples.py)
docs-examples: $(STAMP)
	$(BIN)/python tests/docs_examples.py --update

## lint: ruff (lint + format check), mypy --strict and the import layers (lint-imports)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## docs: re-render docs/architecture.svg from docs/architecture.dot (Graphviz's dot; the SVG is committed, so only editors of the picture need it)
docs:
	@command -v dot >/dev/null || { echo "Error: make docs needs Graphviz's dot: apt-get install graphviz" >&2; exit 1; }
	dot -Tsvg docs/architecture.dot -o docs/architecture.svg

## clean: delete the venv and var/, and the embedded cluster wherever it lives
clean:
	-$(BIN)/energy-ingest devdb delete
	rm -rf $(VENV) var build *.egg-info
