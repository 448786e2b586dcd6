# The two commands the README promises: `make demo` (the main job) and `make test` (every test).
# Both do all set-up on a fresh machine and are safe to re-run: the venv and node_modules are
# (re)built only when their requirement files change.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
IAC_VENV := .venv-iac
IAC_STAMP := $(IAC_VENV)/.installed
CHROMIUM ?= chromium

.PHONY: demo test setup test-setup chromium lint typecheck bench clean

setup: $(STAMP) $(NPM_STAMP)

# What only the tests need on top of the set-up: checkov in its own venv, and a system Chromium for the browser
# tests (Debian's package; Playwright drives it because it cannot download a browser of its own offline).
test-setup: setup $(IAC_STAMP) chromium

$(IAC_STAMP): requirements-iac.txt
	test -x $(IAC_VENV)/bin/python || $(PYTHON) -m venv $(IAC_VENV)
	$(IAC_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-iac.txt
	touch $(IAC_STAMP)

chromium:
	@command -v $(CHROMIUM) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "the browser tests need Debian's chromium: run 'sudo apt-get install chromium' (or set CHROMIUM=path)"; exit 1; \
	  fi; }

$(STAMP): requirements.txt requirements-dev.txt requirements-bench.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	# Editable, without dependencies (installed just above), so the `hireflow` console script is on the venv's PATH.
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

demo: setup
	$(PY) -m hireflow demo

test: test-setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest --cov --cov-report=term:skip-covered

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: setup
	$(PY) -m mypy

bench: setup
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	$(PY) bench/engine.py

clean:
	rm -rf $(VENV) $(IAC_VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .coverage
