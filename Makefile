# Jalin — the two commands: `make run` (the main job) and `make test` (the whole suite).
# Both set everything up first (venv, Kafka, FerretDB); every step is idempotent.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STACK := $(PY) deploy/local/stack.py
PYTEST_ARGS ?=

.PHONY: setup test-tools browser run test bench infra-up infra-down clean

$(VENV)/.installed: pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements.lock -e '.[test]'
	touch $@

setup: $(VENV)/.installed
	$(STACK) fetch

# Tools only the deployment checks need (built once from the Go module proxy, cached).
test-tools: $(VENV)/.installed
	$(PY) deploy/local/kustomize.py >/dev/null
	$(PY) deploy/local/compose.py >/dev/null

# The browser tests drive Debian's Chromium (never a downloaded browser build): installed with apt
# when missing and we are root, otherwise a message says what to install.
browser:
	@if [ ! -x /usr/bin/chromium ] || ! dpkg -s fonts-liberation >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's chromium and fonts-liberation for the browser tests"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-liberation; \
	  else \
	    echo "error: the browser tests need Debian's chromium: sudo apt-get install chromium fonts-liberation"; \
	    exit 1; \
	  fi; \
	fi

run: setup
	$(STACK) run

test: setup test-tools browser
	$(STACK) start --profile test --fresh
	set +e; $(PY) -m pytest $(PYTEST_ARGS); rc=$$?; $(STACK) stop --profile test; exit $$rc

bench: setup
	$(STACK) start --profile bench --fresh
	set +e; $(PY) -m bench $(BENCH_ARGS); rc=$$?; $(STACK) stop --profile bench; exit $$rc

infra-up: setup
	$(STACK) start --profile run

infra-down:
	$(STACK) stop --profile run; $(STACK) stop --profile test

clean: infra-down
	rm -rf .local $(VENV)
