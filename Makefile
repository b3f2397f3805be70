# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install postgres clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Serve the product on 127.0.0.1:5000 with an embedded SQLite database and demo data.
run: install
	$(BIN)/motcua db upgrade
	$(BIN)/motcua seed --if-empty
	$(BIN)/motcua serve --host 127.0.0.1 --port 5000

# Run the whole test suite, SQLite and PostgreSQL (PostgreSQL is started or installed if missing;
# on a machine where that is impossible its tests are skipped, except in CI where they fail).
test: install
	. scripts/ensure_postgres.sh && $(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance/*.sqlite3 .pytest_cache
