# The project's vocabulary. `make demo` and `make test` do their own set-up.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
REDIS_URL ?= redis://127.0.0.1:6379/0
PYTEST_ARGS ?=

.PHONY: install browser wrk gettext messages screenshots demo test test-unit test-integration test-browser test-matrix lint format typecheck bench bench-smoke clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e ".[dev]"
	touch $(STAMP)

# Debian's Chromium for the browser tests (Playwright never downloads a browser here),
# and axe-core from npm for their accessibility checks.
browser: node_modules/.package-lock.json
	@test -x /usr/bin/chromium || { \
	  echo "Installing chromium from apt (needs root)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# wrk drives the benchmarks' load (apt, like Chromium).
wrk:
	@command -v wrk >/dev/null || { \
	  echo "Installing wrk from apt (needs root)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }

# GNU gettext (apt) for the translation catalogs: `make messages`, and the test that
# checks them (tests/unit/test_translations.py).
gettext:
	@command -v msgfmt >/dev/null || { \
	  echo "Installing gettext from apt (needs root)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext; }

# Update the catalogs of every language in LANGS from the sources, then compile them: the
# app's (checkout/locale/) and the demo site's (locale/). New or changed strings come out
# untranslated (or fuzzy): translate them in the .po files and run it again.
LANGS ?= de fr
MESSAGES_IGNORE := --ignore='.*' --ignore=node_modules --ignore=tests --ignore=bench \
	--ignore=docs --ignore=var --ignore=build --ignore=dist
messages: install gettext
	$(PY) manage.py makemessages $(addprefix --locale=,$(LANGS)) --no-obsolete \
	  --add-location=file $(MESSAGES_IGNORE)
	$(PY) manage.py compilemessages $(addprefix --locale=,$(LANGS)) $(MESSAGES_IGNORE)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

demo: install
	$(PY) -m checkout.demo

test: install browser gettext
	DATABASE_URL=$(DATABASE_URL) REDIS_URL=$(REDIS_URL) $(PY) -m pytest $(PYTEST_ARGS)

test-unit: install gettext
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

test-integration: install
	DATABASE_URL=$(DATABASE_URL) REDIS_URL=$(REDIS_URL) $(PY) -m pytest tests/integration $(PYTEST_ARGS)

test-browser: install browser
	DATABASE_URL=$(DATABASE_URL) REDIS_URL=$(REDIS_URL) $(PY) -m pytest tests/browser $(PYTEST_ARGS)

# The unit and integration suites on every supported Django and Python (noxfile.py), with
# the database and Redis of `make test`. Virtualenvs are kept in .nox/ between runs;
# NOX_ARGS picks sessions, e.g. NOX_ARGS='-s "tests(django=6.1)"'.
NOX_ARGS ?=
test-matrix: install gettext
	DATABASE_URL=$(DATABASE_URL) REDIS_URL=$(REDIS_URL) $(VENV)/bin/nox $(NOX_ARGS)

# Refresh the README's screenshots of each checkout step.
screenshots: install browser
	SCREENSHOTS_DIR=docs/screenshots DATABASE_URL=$(DATABASE_URL) $(PY) -m pytest tests/browser $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: install
	$(VENV)/bin/mypy .

bench: install wrk
	DATABASE_URL=$(DATABASE_URL) REDIS_URL=$(REDIS_URL) $(PY) -m bench.run

bench-smoke: install wrk
	DATABASE_URL=$(DATABASE_URL) REDIS_URL=$(REDIS_URL) $(PY) -m bench.run --smoke

clean:
	rm -rf build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache var
