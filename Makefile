# L2 platform: developer entry points.
#
#   make demo   -> embedded demo on http://127.0.0.1:8000/ (SQLite + in-process tasks)
#   make test   -> test suite on PostgreSQL + Redis when reachable, SQLite fallback otherwise
#
# GNU make; recipes use tabs. Variables you may override:
#   PYTEST_ARGS="-k intake -x"   extra pytest arguments
#   DEMO_ADDR=127.0.0.1:8001     address for the demo server
#   DEMO_USE_ENV=1               let `make demo` honour DATABASE_URL / CELERY_BROKER_URL
#   DEMO_RESET=1                 wipe and reload the demo data set (load_demo --reset)

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.installed
BOOTSTRAP := $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)

PYTEST_ARGS ?=
DEMO_ADDR   ?= 127.0.0.1:8000
DEMO_USE_ENV ?=
DEMO_RESET  ?=

# Local services used by `make test` when they answer (the CI machine runs both).
TEST_PG_URL    ?= postgres://postgres@127.0.0.1:5432/l2platform
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
CHROMIUM       ?= /usr/bin/chromium

export DJANGO_SETTINGS_MODULE ?= screening.settings
export PIP_DISABLE_PIP_VERSION_CHECK := 1

ifeq ($(DEMO_USE_ENV),1)
DEMO_ENV :=
else
# Embedded default: SQLite under var/ and Celery tasks run eagerly in-process. Set explicitly
# (not just unset) so that a DATABASE_URL from the environment or a .env file is ignored.
# DEBUG stays off (production-like pages, whitenoise serves the collected static files);
# session/CSRF cookies are not marked Secure so that login works over plain http://127.0.0.1.
DEMO_ENV := env DATABASE_URL=sqlite:///$(CURDIR)/var/db.sqlite3 CELERY_BROKER_URL= DJANGO_SECURE_COOKIES=false
endif

# Tiny reachability probe (no psql/redis-cli needed).
#   argv: KIND (postgres|broker) URL
#   prints host:port (or the URL scheme); exit 0 reachable, 1 unreachable,
#   3 URL is not of that kind (e.g. sqlite://).
define PROBE_PY
import socket, sys
from urllib.parse import urlsplit
kind, url = sys.argv[1], sys.argv[2]
ports = {"postgres": 5432, "postgresql": 5432, "pgsql": 5432, "redis": 6379, "rediss": 6379, "amqp": 5672, "pyamqp": 5672}
accepted = {"postgres": ("postgres", "postgresql", "pgsql"), "broker": ("redis", "rediss", "amqp", "pyamqp")}
parts = urlsplit(url)
if parts.scheme not in accepted[kind]:
    print(parts.scheme or "?")
    sys.exit(3)
host, port = parts.hostname or "127.0.0.1", parts.port or ports[parts.scheme]
print(f"{host}:{port}")
try:
    socket.create_connection((host, port), timeout=2).close()
except OSError:
    sys.exit(1)
endef
export PROBE_PY

.PHONY: help venv install demo test lint fmt bench clean distclean

help:
	@echo "make demo    - run the demo on http://$(DEMO_ADDR)/ (SQLite, in-process tasks, demo accounts)"
	@echo "make test    - run pytest (PostgreSQL + Redis when reachable, SQLite fallback otherwise)"
	@echo "make lint    - ruff check + ruff format --check"
	@echo "make fmt     - ruff check --fix + ruff format"
	@echo "make bench   - run bench/run.py if present"
	@echo "make install - create .venv and install the project (skipped when up to date)"
	@echo "make clean   - remove caches and collected static files (distclean: also .venv and var/: demo DB, media)"

# --- environment -----------------------------------------------------------

$(PY):
	@test -n "$(BOOTSTRAP)" || { echo "!! neither python3.11 nor python3 found on PATH" >&2; exit 1; }
	@echo ">> creating $(VENV) with $(BOOTSTRAP)"
	$(BOOTSTRAP) -m venv $(VENV)

# Re-install only when pyproject.toml changed since the last successful install.
$(STAMP): pyproject.toml | $(PY)
	@echo ">> installing the project and dev dependencies into $(VENV)"
	$(PY) -m pip install -e '.[dev]'
	@touch $@

venv install: $(STAMP)

# --- demo --------------------------------------------------------------------

demo: install
	@mkdir -p var
	@if [ "$(DEMO_USE_ENV)" = "1" ]; then \
	  echo ">> demo: using DATABASE_URL / CELERY_BROKER_URL from the environment (DEMO_USE_ENV=1)"; \
	else \
	  echo ">> demo: embedded mode (SQLite under var/, Celery tasks run in-process)"; \
	fi
	$(DEMO_ENV) $(PY) manage.py migrate --noinput
	$(DEMO_ENV) $(PY) manage.py collectstatic --noinput -v 0
	$(DEMO_ENV) $(PY) manage.py load_demo $(if $(filter 1,$(DEMO_RESET)),--reset)
	@echo
	@echo "=================================================================="
	@echo "  L2 platform demo: http://$(DEMO_ADDR)/"
	@echo "  (accounts listed above; Ctrl-C to stop)"
	@echo "=================================================================="
	@echo
	$(DEMO_ENV) $(PY) manage.py runserver $(DEMO_ADDR)

# --- tests -------------------------------------------------------------------
# Explicit DATABASE_URL / CELERY_BROKER_URL are never rewritten; when unset, the local
# services are used if they answer. Under CI=true a missing service is an error.
# make exits 2 when pytest fails; its "Error N" line shows pytest's own exit code.

test: install
	@set -u; \
	probe() { $(PY) -c "$$PROBE_PY" "$$1" "$$2"; }; \
	banner() { echo; echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	           for l in "$$@"; do echo "!!  $$l"; done; \
	           echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; echo; }; \
	ci=false; [ "$${CI:-}" = "true" ] && ci=true; \
	missing=0; \
	[ -n "$${DATABASE_URL:-}" ] || unset DATABASE_URL; \
	echo "== test backends (CI=$$ci) =="; \
	if [ -n "$${DATABASE_URL+x}" ]; then \
	  where=$$(probe postgres "$${DATABASE_URL}") && rc=0 || rc=$$?; \
	  case $$rc in \
	    0) echo ">> database: PostgreSQL at $$where (DATABASE_URL from the environment)";; \
	    3) banner "database: $$where from DATABASE_URL (not PostgreSQL)" \
	              "tests marked postgres will be SKIPPED (or FAIL under CI=true)";; \
	    *) banner "DATABASE_URL points at $$where but nothing answers there." \
	              "Start PostgreSQL, or unset DATABASE_URL to use the SQLite fallback."; \
	       exit 1;; \
	  esac; \
	elif where=$$(probe postgres "$(TEST_PG_URL)"); then \
	  export DATABASE_URL="$(TEST_PG_URL)"; \
	  echo ">> database: PostgreSQL at $$where -> DATABASE_URL=$$DATABASE_URL"; \
	elif [ "$$ci" = true ]; then \
	  banner "CI=true: PostgreSQL unreachable at $$where - CI requires PostgreSQL"; missing=1; \
	else \
	  banner "PostgreSQL unreachable ($$where): falling back to SQLite;" \
	         "tests marked postgres will be SKIPPED"; \
	fi; \
	if [ -n "$${CELERY_BROKER_URL+x}" ]; then \
	  if [ -z "$${CELERY_BROKER_URL}" ]; then \
	    banner "CELERY_BROKER_URL is set but empty: tasks run eagerly in-process;" \
	           "tests marked celery_worker will be SKIPPED (or FAIL under CI=true)"; \
	  else \
	    where=$$(probe broker "$${CELERY_BROKER_URL}") && rc=0 || rc=$$?; \
	    case $$rc in \
	      0) echo ">> broker: $$where (CELERY_BROKER_URL from the environment)";; \
	      3) banner "broker: unsupported scheme '$$where' in CELERY_BROKER_URL";; \
	      *) banner "CELERY_BROKER_URL points at $$where but nothing answers there." \
	                "Start Redis, or unset CELERY_BROKER_URL to run tasks in-process."; \
	         exit 1;; \
	    esac; \
	  fi; \
	elif where=$$(probe broker "$(TEST_REDIS_URL)"); then \
	  export CELERY_BROKER_URL="$(TEST_REDIS_URL)"; \
	  echo ">> broker: Redis at $$where -> CELERY_BROKER_URL=$$CELERY_BROKER_URL"; \
	elif [ "$$ci" = true ]; then \
	  banner "CI=true: Redis unreachable at $$where - CI requires Redis"; missing=1; \
	else \
	  banner "Redis unreachable ($$where): Celery tasks run eagerly in-process;" \
	         "tests marked celery_worker will be SKIPPED"; \
	fi; \
	if [ -x "$(CHROMIUM)" ]; then \
	  echo ">> browser: $(CHROMIUM)"; \
	elif [ "$$ci" = true ]; then \
	  banner "CI=true: $(CHROMIUM) not found - CI requires Debian's chromium"; missing=1; \
	else \
	  banner "$(CHROMIUM) not found (apt-get install chromium):" \
	         "tests marked browser will be SKIPPED"; \
	fi; \
	if [ $$missing -ne 0 ]; then echo "!! refusing to run the tests with missing services under CI=true" >&2; exit 1; fi; \
	echo ">> $(PY) -m pytest $(PYTEST_ARGS)"; \
	rc=0; $(PY) -m pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then banner "pytest collected no tests (exit code 5)"; fi; \
	exit $$rc

# --- quality -----------------------------------------------------------------

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install
	@if [ -f bench/run.py ]; then \
	  $(PY) bench/run.py; \
	else \
	  echo ">> bench/run.py does not exist yet (see bench/README.md)"; \
	fi

# --- housekeeping ------------------------------------------------------------

clean:
	rm -rf .pytest_cache .ruff_cache var/staticfiles
	find . -path ./.venv -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

# Also removes the virtualenv and the demo database / media under var/.
distclean: clean
	rm -rf $(VENV) var
