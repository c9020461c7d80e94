# Two commands for a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test test-fast lint messages install node-deps clean

# issue 18: the real OpenID Provider of the SSO tests (npm oidc-provider), from its lock file, and
# the real CAS 3.0 server (django-cas-server) in a virtualenv of its own.
OP := tests/sso/op
OP_STAMP := $(OP)/node_modules/.package-lock.json
CAS := tests/sso/cas
CAS_STAMP := $(CAS)/.venv/.installed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

$(OP_STAMP): $(OP)/package-lock.json
	npm ci --prefix $(OP) --no-audit --no-fund --loglevel=error

$(CAS_STAMP): $(CAS)/requirements.txt
	$(PYTHON) -m venv $(CAS)/.venv
	$(CAS)/.venv/bin/python -m pip install --quiet -r $(CAS)/requirements.txt
	touch $(CAS_STAMP)

install: $(STAMP) $(OP_STAMP) $(CAS_STAMP)

# axe-core from npm (tests/a11y/package.json, pinned by its lock file), injected by Playwright into
# the crawled pages (tests/test_crawl.py); reinstalled when the lock file changes.
A11Y := tests/a11y
A11Y_STAMP := $(A11Y)/node_modules/.installed-$(shell cat $(A11Y)/package-lock.json | cksum | cut -d' ' -f1)

$(A11Y_STAMP): $(A11Y)/package.json $(A11Y)/package-lock.json
	npm ci --prefix $(A11Y) --no-audit --no-fund --loglevel=error
	rm -f $(A11Y)/node_modules/.installed-*
	touch $(A11Y_STAMP)

node-deps: $(A11Y_STAMP)

## Create .venv, install, initialise ./ybz-data, load the demo province and serve on :8000.
demo: $(STAMP)
	$(BIN)/ybz init
	$(BIN)/ybz serve --demo --host 127.0.0.1 --port 8000

# Two workers fit two cores; each builds its own templates, database and ports (tests/conftest.py).
# --dist load: test by test (the demo province is shared through a file lock, so a module-scoped
# fixture built twice costs a copy), with the longest tests first (SLOW_FIRST in tests/conftest.py).
WORKERS ?= 2
XDIST := -n $(WORKERS) --dist load

## Install with test extras and run the whole suite (lint first), slowest 25 tests listed at the end.
test: $(STAMP) $(A11Y_STAMP) $(OP_STAMP) $(CAS_STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/python -m pytest $(XDIST) --durations=25 $(PYTEST_ARGS)

## The inner loop: SQLite and the local zone only; no browser, Spark or S3 (deselected, not skipped).
test-fast: $(STAMP) $(OP_STAMP) $(CAS_STAMP)
	$(BIN)/python -m pytest $(XDIST) -m "not pg and not browser and not spark and not s3" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests

## Extract the messages (babel.cfg), bring the English catalogue up to the source and compile it; lists
## the messages still untranslated (fill them in locale/en/LC_MESSAGES/yibenzhang.po and run it again).
messages: $(STAMP)
	$(BIN)/python -m yibenzhang.i18n_extract

clean:
	rm -rf $(VENV) ybz-data .pytest_cache .ruff_cache $(A11Y)/node_modules $(OP)/node_modules $(CAS)/.venv
