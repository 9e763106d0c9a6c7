# Jalin — the two commands: `make run` (the main job) and `make test` (the whole suite).
# Both set everything up first (venv, Kafka, FerretDB); every step is idempotent.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STACK := $(PY) deploy/local/stack.py
PYTEST_ARGS ?=

.PHONY: setup test-tools system-packages run test bench infra-up infra-down clean

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

# System packages from Debian the tests need: Chromium for the browser tests (never a downloaded
# browser build) and the PostgreSQL server for FerretDB's postgresql backend. Installed with apt
# when missing and we are root, otherwise a message says what to install.
SYSTEM_PACKAGES := chromium fonts-liberation postgresql
system-packages:
	@if ! dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1 || [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's $(SYSTEM_PACKAGES) for the tests"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(SYSTEM_PACKAGES); \
	  else \
	    echo "error: the tests need Debian's packages: sudo apt-get install $(SYSTEM_PACKAGES)"; \
	    exit 1; \
	  fi; \
	fi

run: setup
	$(STACK) run

test: setup test-tools system-packages
	$(STACK) start --profile test --fresh
	set +e; $(PY) -m pytest $(PYTEST_ARGS); rc=$$?; $(STACK) stop --profile test; exit $$rc

bench: setup system-packages
	$(STACK) start --profile bench --fresh
	set +e; $(PY) -m bench $(BENCH_ARGS); rc=$$?; $(STACK) stop --profile bench; exit $$rc

infra-up: setup
	$(STACK) start --profile run

infra-down:
	$(STACK) stop --profile run; $(STACK) stop --profile test

clean: infra-down
	rm -rf .local $(VENV)
