# Tandem — every target does its own set-up on a fresh machine (virtualenv, local Kafka + PostgreSQL).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Re-install when pyproject.toml changes.
DEPS_STAMP := $(VENV)/.deps-$(shell sha1sum pyproject.toml | cut -c1-12)
# With both variables set, tests and services use those servers and no local ones are started.
EXTERNAL_INFRA := $(and $(KAFKA_BOOTSTRAP_SERVERS),$(DATABASE_URL))

.PHONY: help venv infra-up infra-down infra-status topics test test-unit test-browser bench lint run stop platform-status token

help:
	@echo "make run         fresh machine -> local Kafka + PostgreSQL, topics, the four services, a demo program"
	@echo "make stop        stop the four services and the local Kafka + PostgreSQL"
	@echo "make token ROLE=program_admin|auditor|participant [SUB=participant-id]   a bearer token"
	@echo "make test        fresh machine -> all tests against real Kafka + PostgreSQL"
	@echo "make test-browser  dashboard and participant page in headless Chromium"
	@echo "make bench       benchmarks: table on stdout, bench/results.json"
	@echo "make infra-up    start local Kafka (KRaft, Maven Central jars) and PostgreSQL 15"
	@echo "make infra-down  stop them (data stays in .local/)"
	@echo "make lint        ruff + mypy"

venv: $(DEPS_STAMP)
$(DEPS_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	rm -f $(VENV)/.deps-* && touch $@

infra-up:
ifeq ($(EXTERNAL_INFRA),)
	deploy/local/infra.sh up
else
	@echo "using KAFKA_BOOTSTRAP_SERVERS=$(KAFKA_BOOTSTRAP_SERVERS) and DATABASE_URL from the environment"
endif

infra-down:
	deploy/local/infra.sh down

infra-status:
	deploy/local/infra.sh status

topics: venv infra-up
	$(VENV)/bin/tandem topics create

# Both layers, the server-free one first: it fails in a minute where the server layer takes several.
test: venv infra-up
	$(PY) -m pytest -m "not infra" $(PYTEST_ARGS)
	$(PY) -m pytest -m infra $(PYTEST_ARGS)

test-unit: venv
	$(PY) -m pytest -m "not infra" $(PYTEST_ARGS)

test-browser: venv infra-up
	$(PY) -m pytest tests/browser $(PYTEST_ARGS)

bench: venv infra-up
	$(PY) -m bench $(BENCH)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy shared services

run: venv infra-up topics
	deploy/local/platform.sh up
	$(PY) -m demo

stop:
	deploy/local/platform.sh down
	deploy/local/infra.sh down

platform-status:
	deploy/local/platform.sh status

ROLE ?= program_admin
SUB ?= local-admin
token: venv
	@$(VENV)/bin/tandem token --role $(ROLE) --sub $(SUB)
