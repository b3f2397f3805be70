# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check fuzz install postgres clean

$(STAMP): pyproject.toml package.json package-lock.json
	sh scripts/ensure_icu.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

install: $(STAMP)

# Serve the product on 127.0.0.1:5000 with an embedded SQLite database and demo data, one worker
# beside it (timers, SLA alerts, notifications, portal sync) and the portal simulator on 127.0.0.1:5180.
run: install
	. scripts/ensure_pdf.sh && $(BIN)/motcua db upgrade
	$(BIN)/motcua seed --if-empty
	$(BIN)/motcua serve --host 127.0.0.1 --port 5000 --with-worker --with-portal-simulator 5180

# Run the whole test suite, SQLite and PostgreSQL, and the browser tests in Debian's Chromium
# (PostgreSQL and Chromium are started or installed if missing; on a machine where that is
# impossible their tests are skipped, except in CI where they fail). Two pytest processes
# (pytest-xdist) share the tests; the soak and scale runs marked `slow` are left to CI (`.ci/run`
# sets PYTEST_MARKERS empty) or `make test PYTEST_MARKERS=slow`.
PYTEST_WORKERS ?= 2
PYTEST_MARKERS ?= not slow
test: install
	. scripts/ensure_postgres.sh && . scripts/ensure_chromium.sh && . scripts/ensure_pdf.sh && $(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m "$(PYTEST_MARKERS)" $(PYTEST_ARGS)

# The house rules a tool can see (docs/architecture.md): lint, formatting and types.
check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# schemathesis against the OpenAPI document of a served app with a seeded SQLite database and a token
# (a few minutes; not part of `make test`). FUZZ_EXAMPLES=N cases per operation and phase.
fuzz: install
	$(BIN)/pip install --quiet -e '.[fuzz]'
	BIN=$(BIN) sh scripts/fuzz.sh

clean:
	rm -rf $(VENV) node_modules instance/*.sqlite3 .pytest_cache
