# make run   - set up everything and serve the demo clinic on http://127.0.0.1:5000
# make test  - lint (ruff, mypy), then the whole test suite on SQLite and (when reachable) PostgreSQL
# make audit - bandit on the code, pip-audit on the installed packages
# make bench - every benchmark in bench/, each printing its figures and targets (exit 1 if missed)
VENV      := .venv
PY        := $(VENV)/bin/python
FLASK     := $(VENV)/bin/flask
PYTEST    := $(VENV)/bin/pytest
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test
CHROMIUM  := /usr/bin/chromium
CALCURSE  := /usr/bin/calcurse
NGINX     := /usr/sbin/nginx
# pdftotext reads back the receipts and records the tests issue as PDF.
PDFTOTEXT := /usr/bin/pdftotext
# The documents' PDFs are set in DejaVu Sans ("£", accents, Polish, Greek...).
DEJAVU    := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
AXE       := tests/browser/node_modules/axe-core/axe.min.js
# apt-get needs root: use sudo when we are not root and it is there.
SUDO      := $(shell [ "$$(id -u)" = 0 ] || ! command -v sudo >/dev/null || echo sudo)
export FLASK_APP := wsgi
# Python keeps its compiled modules (__pycache__, ignored by git) even where the shell says
# not to: without them every pytest worker and every server the tests start compiles the
# application again, and pytest rewrites the asserts of every test module again (collecting
# the suite: 10.7 s of processor time without the cache, 4.0 s with it).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test test-future faketime install lint typecheck hooks format serve bench audit clean db browser

# What the site needs to run, and nothing else: `make run` and `make serve` stop here.
$(VENV)/.site-installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[mail-catcher]'
	touch $@

# Development and tests: the site plus the test extra (make install, lint, test).
$(VENV)/.installed: $(VENV)/.site-installed
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

$(VENV)/.audit-installed: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test,audit]'
	touch $@

# The browser tests drive Debian's Chromium (never a downloaded browser build) and inject
# axe-core from the npm registry; the feed is also imported into Debian's calcurse, a
# real calendar program; Debian's nginx is the TLS proxy of the production-shaped
# test (tests/browser/test_production_https.py). When one cannot be installed the tests
# that need it skip and say why; the rest of the suite still runs.
browser:
	@if [ ! -x $(CHROMIUM) ] || [ ! -x $(CALCURSE) ] || [ ! -x $(NGINX) ] || [ ! -x $(PDFTOTEXT) ] || [ ! -f $(DEJAVU) ]; then \
		echo "Installing Debian's chromium, calcurse, nginx-light and poppler-utils for the browser, calendar, production-shaped and PDF tests"; \
		( $(SUDO) apt-get update -qq && \
		  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium calcurse nginx-light poppler-utils fonts-dejavu-core \
		  >/dev/null ) \
		|| echo "Could not install chromium, calcurse and nginx-light: the tests that need them will be skipped"; \
	fi
	@if [ ! -f $(AXE) ]; then \
		if command -v npm >/dev/null; then \
			npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error \
			|| echo "npm ci failed: the accessibility checks will be skipped"; \
		else \
			echo "npm is missing: the accessibility checks will be skipped"; \
		fi; \
	fi

db: $(VENV)/.site-installed
	$(FLASK) db upgrade
	$(FLASK) seed-demo

# Development: a local mail catcher prints every email to this console, and the outbox
# worker sends queued mail to it, so booking mail flows with no extra step.
run: db
	@echo "Serving on http://127.0.0.1:5000 (mail is printed here; Ctrl-C stops everything)"
	@# Ctrl-C reaches all three (one process group); the trap stops whichever is left and
	@# waits for them, so make ends quietly instead of reporting a signal it was sent.
	@trap 'kill $$mail $$worker $$web 2>/dev/null; wait; exit 0' INT TERM; \
		MAIL_SERVER=127.0.0.1 MAIL_PORT=8025 $(PY) -m booking.dev_mail & mail=$$!; \
		MAIL_SERVER=127.0.0.1 MAIL_PORT=8025 $(FLASK) outbox run & worker=$$!; \
		MAIL_SERVER=127.0.0.1 MAIL_PORT=8025 $(FLASK) run --host 127.0.0.1 --port 5000 & web=$$!; \
		wait

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@$(MAKE) --no-print-directory typecheck

# mypy: strict for booking/clinic and booking/models, its default level for the rest
# (see [tool.mypy] in pyproject.toml).
typecheck: install
	$(VENV)/bin/mypy

# Runs ruff and mypy before each commit (.pre-commit-config.yaml).
hooks: install
	$(PY) -m pip install --quiet -e '.[test,dev]'
	$(VENV)/bin/pre-commit install

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Each backend's run is spread over PYTEST_WORKERS processes (pytest-xdist; `auto` is one
# per core), each worker on a database of its own (tests/conftest.py). PYTEST_ARGS adds
# options or picks tests, e.g. `make test PYTEST_ARGS="-k feeds"`. pytest exits 5 when it
# collected nothing, which counts as a failure here: a suite that ran no test proves nothing.
PYTEST_WORKERS ?= auto
PYTEST_ARGS ?=
# pytest under SlipCover ([tool.slipcover] in pyproject.toml), which writes the lines each
# backend's run covered to .coverage-<backend>.json.
COVERED = $(PY) -m slipcover --json --out .coverage-$(1).json -m pytest
# Each backend's run ends with its wall time and the processor time it used ($(3) names
# it), for the CI log: `times` gives the user and system time of the shell's finished
# children, here pytest and everything it started. $(2) is the command that runs pytest.
define pytest_on
	status=0; started=$$(date +%s); \
	$(1) $(2) -n $(PYTEST_WORKERS) $(PYTEST_ARGS) || status=$$?; \
	echo "Wall time of the tests on $(3): $$(( $$(date +%s) - started )) s"; \
	cpu=$$(mktemp); times >$$cpu; \
	echo "Processor time of the tests on $(3) (user, system): $$(tail -n 1 $$cpu)"; \
	rm -f $$cpu; \
	if [ $$status = 5 ]; then echo "pytest collected no tests: nothing was tested"; fi; \
	[ $$status = 0 ]
endef

# The SQLite and PostgreSQL runs go side by side, so that one run's waits (on browsers,
# servers, SMTP, the database) are the other's processor time. They share
# nothing else: each worker has its own database (an SQLite file, or a PostgreSQL database),
# servers take free ports, Redis keys carry a prefix of their own, screenshots land in
# test-artefacts/<backend>/. Each run writes to a log printed whole when it ends.
# The SQLite run is niced (3): the PostgreSQL run has more to do (each of its statements is
# a round trip to the server) and used to finish alone, 47 s after SQLite's, on cores it
# could not keep busy; with the SQLite run yielding, the two end within seconds of each
# other and the whole takes about 30 s less.
# Both runs measure coverage, and the total printed is over the two (lines only one
# backend runs, such as its connection settings in booking/database.py, count once run).

# Lint runs beside the tests' warm-up, which collects the suite once: mypy keeps one core
# busy, and the collection writes the compiled modules and pytest's rewritten test modules
# that every worker of both runs reads. On a fresh clone the four workers each rewrote the
# whole suite at the same moment (about 7 s of processor time each). Lint's output is
# printed when it ends, and a lint failure fails `make test` before any test runs.
test: install browser
	@lint_log=$$(mktemp); \
	( $(MAKE) --no-print-directory lint ) >$$lint_log 2>&1 & lint=$$!; \
	$(PYTEST) --collect-only -q >/dev/null 2>&1; \
	status=0; wait $$lint || status=$$?; \
	cat $$lint_log; rm -f $$lint_log; \
	if [ $$status != 0 ]; then echo "make test: lint failed (see above)"; exit 1; fi
	@rm -f .coverage-*.json; \
	pg="$${TEST_DATABASE_URL:-$(PG_TEST_URL)}"; started=$$(date +%s); \
	if TEST_DATABASE_URL="$$pg" $(PY) -m tests.postgres_reachable; then \
		echo "== tests on SQLite and on PostgreSQL ($$pg) at once; each one's output follows when it ends =="; \
		logs=$$(mktemp -d); status=0; \
		( $(call pytest_on,env -u TEST_DATABASE_URL nice -n 3,$(call COVERED,sqlite),SQLite) ) \
			>$$logs/sqlite 2>&1 & sqlite=$$!; \
		( $(call pytest_on,env TEST_DATABASE_URL="$$pg",$(call COVERED,postgresql),PostgreSQL) ) \
			>$$logs/postgresql 2>&1 & postgresql=$$!; \
		wait $$sqlite || status=1; \
		echo "== tests on SQLite =="; cat $$logs/sqlite; \
		wait $$postgresql || status=1; \
		echo "== tests on PostgreSQL ($$pg) =="; cat $$logs/postgresql; \
		rm -rf $$logs; \
		echo "Wall time of both backends' tests: $$(( $$(date +%s) - started )) s"; \
		if [ $$status != 0 ]; then echo "make test: the tests failed on SQLite or PostgreSQL (see above)"; exit 1; fi; \
		echo "Backends tested: SQLite and PostgreSQL"; \
		ran="SQLite and PostgreSQL runs together"; \
	else \
		echo "PostgreSQL is not reachable at $$pg: tests run on SQLite only"; \
		echo "== tests on SQLite =="; \
		$(call pytest_on,env -u TEST_DATABASE_URL,$(call COVERED,sqlite),SQLite) || exit 1; \
		ran="SQLite run"; \
	fi; \
	covered=$$($(PY) -m tests.coverage_total .coverage-*.json) || exit 1; \
	echo "Coverage of booking/ and config.py, lines run by the tests (the $$ran, SlipCover): $$covered%"

# The whole suite again with the clock a year ahead (Debian's libfaketime), on both
# backends: no test may depend on today's date. The PostgreSQL server keeps the real clock;
# the application takes its time from Python, so every "now" it uses is the faked one.
# tests/faketime/sitecustomize.py works round libfaketime's broken time.sleep, and Chromium
# runs on the real clock (it does not paint under libfaketime; tests/fixtures_browser.py).
FAKETIME_LIB = $(firstword $(wildcard /usr/lib/*/faketime/libfaketime.so.1))
FUTURE = FAKETIME="+365d" FAKETIME_DONT_FAKE_MONOTONIC=1 LD_PRELOAD="$(FAKETIME_LIB)" \
	PYTHONPATH=tests/faketime

faketime:
	@if [ -z "$(FAKETIME_LIB)" ]; then \
		echo "Installing Debian's libfaketime for make test-future"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libfaketime >/dev/null; \
	fi

test-future: install browser faketime
	@echo "== tests on SQLite, a year ahead ($$(env $(FUTURE) date +%F)) =="
	@$(call pytest_on,env -u TEST_DATABASE_URL $(FUTURE),$(PYTEST),SQLite a year ahead)
	@pg="$${TEST_DATABASE_URL:-$(PG_TEST_URL)}"; \
	if TEST_DATABASE_URL="$$pg" $(PY) -m tests.postgres_reachable; then \
		echo "== tests on PostgreSQL ($$pg), a year ahead =="; \
		$(call pytest_on,TEST_DATABASE_URL="$$pg" $(FUTURE),$(PYTEST),PostgreSQL a year ahead) || exit 1; \
		echo "Backends tested a year ahead: SQLite and PostgreSQL"; \
	else \
		echo "PostgreSQL is not reachable at $$pg: tests ran a year ahead on SQLite only"; \
	fi

serve: $(VENV)/.site-installed
	$(FLASK) db upgrade
	$(VENV)/bin/gunicorn --bind $${BIND:-127.0.0.1:8000} --workers $${WORKERS:-2} wsgi:app

# bandit skips two checks that ruff's S rules (bandit's own checks, ported) already run in
# `make lint`, where each exception is marked on its line with the reason: B105 (a password
# in the source: only the test suite's fixed key) and B704 (Markup: only on nh3-sanitised or
# clinic-authored Markdown HTML). bandit reads `# nosec`, not `# noqa`, so it would report the
# same reviewed lines again. pip-audit checks what is installed in the virtual environment;
# when it cannot fetch vulnerability data for a package it says so, and so do we.
audit: $(VENV)/.audit-installed
	$(VENV)/bin/bandit -q -r booking config.py wsgi.py --skip B105,B704
	@report=$$(mktemp); status=0; \
	$(VENV)/bin/pip-audit --progress-spinner off --skip-editable >$$report 2>&1 || status=$$?; \
	cat $$report; \
	if grep -q "could not be audited" $$report; then \
		echo "WARNING: pip-audit could not fetch vulnerability data for $$(grep -c 'could not be audited' $$report) packages: the dependency audit is incomplete"; \
	fi; \
	rm -f $$report; exit $$status

# Every benchmark prints its figures beside a floor measured in the same run and its
# targets as ratios to that floor, MET or NOT MET; each runs even when one before it missed,
# and make exits non-zero if any target was missed by more than BENCH_TOLERANCE (a fraction,
# 0.10 by default; bench/harness.py). On a shared machine the verdicts go by the best samples.
bench: install
	@status=0; for bench in bench/*.py; do \
		name=$$(basename $$bench .py); \
		case $$name in __init__|hello|harness|postgres) continue;; esac; \
		echo "== bench.$$name =="; \
		$(PY) -m bench.$$name || { status=1; echo "bench.$$name: a target was missed"; }; \
	done; \
	if [ $$status != 0 ]; then echo "make bench: some targets were missed (see above)"; fi; \
	exit $$status

clean:
	rm -rf $(VENV) instance/*.sqlite3* test-artefacts tests/browser/node_modules
