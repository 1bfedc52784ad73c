# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint install migrate seed serve clean bench bench-all

$(STAMP): requirements.txt requirements-dev.txt client/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	# Editable, so a working tree's edits to the client are what the server imports.
	$(BIN)/python -m pip install --quiet --no-deps -e ./client
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	DEBUG=true $(BIN)/python manage.py migrate --no-input

seed: migrate
	DEBUG=true $(BIN)/python manage.py seed_reference

run: seed
	@echo "Serving on http://$(HOST):$(PORT)/ (admin: http://$(HOST):$(PORT)/admin/)"
	DEBUG=true $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	@bash scripts/run_tests.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	# The layers and no cycles inside an app (pyproject.toml, docs/architecture.md).
	$(BIN)/lint-imports

bench: install
	$(BIN)/python bench/import_export.py

# Every benchmark, each writing its figures into bench/README.md. Needs PostgreSQL and
# Redis; the read benchmarks install wrk and nginx (Debian packages) when missing.
bench-all: install
	$(BIN)/python bench/import_export.py
	$(BIN)/python bench/read_api.py
	$(BIN)/python bench/server_ceiling.py
	$(BIN)/python bench/write_path.py
	$(BIN)/python bench/client.py
	$(BIN)/python bench/upstream_sync.py
	$(BIN)/python bench/export_publish.py
	$(BIN)/python bench/links.py
	$(BIN)/python bench/audit.py
	$(BIN)/python bench/history.py
	$(BIN)/python bench/horde_statistics.py

clean:
	rm -rf $(VENV) var db.sqlite3 .pytest_cache .mypy_cache .ruff_cache .hypothesis
