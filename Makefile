# make run   - set up everything and serve the demo clinic on http://127.0.0.1:5000
# make test  - lint, then the whole test suite on SQLite and (when reachable) PostgreSQL
VENV      := .venv
PY        := $(VENV)/bin/python
FLASK     := $(VENV)/bin/flask
PYTEST    := $(VENV)/bin/pytest
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test
export FLASK_APP := wsgi
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test install lint format serve bench audit clean db

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

db: install
	$(FLASK) db upgrade
	$(FLASK) seed-demo

run: db
	$(FLASK) run --host 127.0.0.1 --port 5000

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: lint
	@echo "== tests on SQLite =="
	$(PYTEST)
	@if TEST_DATABASE_URL="$${TEST_DATABASE_URL:-$(PG_TEST_URL)}" $(PY) -m tests.postgres_reachable; then \
		echo "== tests on PostgreSQL ($${TEST_DATABASE_URL:-$(PG_TEST_URL)}) =="; \
		TEST_DATABASE_URL="$${TEST_DATABASE_URL:-$(PG_TEST_URL)}" $(PYTEST) || exit 1; \
		echo "Backends tested: SQLite and PostgreSQL"; \
	else \
		echo "PostgreSQL is not reachable at $${TEST_DATABASE_URL:-$(PG_TEST_URL)}: tests ran on SQLite only"; \
	fi

serve: install
	$(FLASK) db upgrade
	$(VENV)/bin/gunicorn --bind $${BIND:-127.0.0.1:8000} --workers $${WORKERS:-2} wsgi:app

clean:
	rm -rf $(VENV) instance/*.sqlite3* test-artefacts
