# Tandem — every target does its own set-up on a fresh machine (virtualenv, local Kafka + PostgreSQL).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# uv installs the virtualenv from uv.lock. It is bootstrapped with pip into a tools virtualenv of its own, so a fresh
# machine needs only python3, and `uv sync` can keep .venv exactly as the lock says (it removes what is not locked).
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/uv/bin/uv
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Re-install when pyproject.toml or uv.lock changes.
DEPS_STAMP := $(VENV)/.deps-$(shell cat pyproject.toml uv.lock | sha1sum | cut -c1-12)
# Kafka 3.9 stays supported: `make test-kafka39` runs the integration tests against it, beside the 4.x broker.
KAFKA39 := TANDEM_KAFKA_VERSION=3.9.2 TANDEM_KAFKA_PORT=29092 TANDEM_KAFKA_CONTROLLER_PORT=29093
# With both variables set, tests and services use those servers and no local ones are started.
EXTERNAL_INFRA := $(and $(KAFKA_BOOTSTRAP_SERVERS),$(DATABASE_URL))

.PHONY: help venv lock infra-up infra-down infra-status topics test test-kafka39 test-unit test-browser faults bench lint run stop platform-status token

help:
	@echo "make run         fresh machine -> local Kafka + PostgreSQL, topics, the four services, a demo program"
	@echo "make stop        stop the four services and the local Kafka + PostgreSQL"
	@echo "make token ROLE=program_admin|auditor|participant|executive_sponsor [SUB=participant-id] [EMPLOYEE_ID=id]"
	@echo "           [KC_USER=name]  a bearer token: Keycloak's when the services sign in with it, else a development one"
	@echo "make test        fresh machine -> all tests against real Kafka + PostgreSQL"
	@echo "make test-kafka39  the integration tests against Kafka 3.9 (a second broker on port 29092)"
	@echo "make test-browser  dashboard and participant page in headless Chromium"
	@echo "make faults      the fault suite: kills and restarts its own Kafka, PostgreSQL and services under load"
	@echo "make bench       benchmarks: table on stdout, bench/results.json"
	@echo "make infra-up    start local Kafka 4.x (KRaft, Maven Central jars), PostgreSQL 15 and Keycloak (sign-in)"
	@echo "                 (TANDEM_KAFKA_VERSION=3.9.2 for Kafka 3.9)"
	@echo "make infra-down  stop them (data stays in .local/)"
	@echo "make lint        ruff + mypy"
	@echo "make lock        re-resolve uv.lock after changing pyproject.toml's dependencies (commit both)"

$(UV):
	$(PYTHON) -m venv $(TOOLS)/uv
	$(TOOLS)/uv/bin/pip install -q uv==$(UV_VERSION)

# Runtime dependencies and every extra (dev, bench, demo), the project itself editable. --locked: a pyproject.toml
# changed without `make lock` stops here with uv's message instead of installing something unlocked.
venv: $(DEPS_STAMP)
$(DEPS_STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --all-extras --python $(PYTHON) --no-python-downloads
	rm -f $(VENV)/.deps-* && touch $@

# The one command that writes uv.lock: run it after editing pyproject.toml's dependencies, commit both files.
lock: | $(UV)
	$(UV) lock --python $(PYTHON) --no-python-downloads

# Keycloak is started beside servers from the environment too, unless TANDEM_KEYCLOAK_URL names one.
infra-up:
ifeq ($(EXTERNAL_INFRA),)
	deploy/local/infra.sh up
else
	@echo "using KAFKA_BOOTSTRAP_SERVERS=$(KAFKA_BOOTSTRAP_SERVERS) and DATABASE_URL from the environment"
	@if [[ -n "$${TANDEM_KEYCLOAK_URL:-}" ]]; then echo "using TANDEM_KEYCLOAK_URL=$$TANDEM_KEYCLOAK_URL"; \
	else deploy/local/keycloak.sh up; fi
endif

infra-down:
	deploy/local/infra.sh down

infra-status:
	deploy/local/infra.sh status

topics: venv infra-up
	$(VENV)/bin/tandem topics create

# Both layers, the server-free one first: it fails in a minute where the server layer takes several. The server
# layer runs in SERVER_WORKERS processes, a file to each at a time (module fixtures start services once); most of
# its time is spent waiting on child processes and servers, so two workers halve it even on two cores. Each worker
# has a database and topic prefix of its own (tests/conftest.py), and a test that must see only its own events
# makes its own (tests/support/infra.create_store).
SERVER_WORKERS ?= 2
SERVER_LAYER = -n $(SERVER_WORKERS) --dist loadfile
test: venv infra-up
	$(PY) -m pytest -m "not infra" -n auto --dist worksteal $(PYTEST_ARGS)
	$(PY) -m pytest -m "infra and not faults" $(SERVER_LAYER) $(PYTEST_ARGS)

test-unit: venv
	$(PY) -m pytest -m "not infra" -n auto --dist worksteal $(PYTEST_ARGS)

# A Kafka 3.9 broker on other ports beside the usual servers (PostgreSQL is shared), the integration tests against
# it, and the broker stopped again whatever the outcome. With KAFKA_BOOTSTRAP_SERVERS/DATABASE_URL set, infra-up
# leaves PostgreSQL to the environment and only the broker is local.
test-kafka39: venv infra-up
	$(KAFKA39) deploy/local/infra.sh kafka-up
	status=0; KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:29092 DATABASE_URL="$${DATABASE_URL:-$$(deploy/local/infra.sh env | sed -n 's/^DATABASE_URL=//p')}" \
	  $(PY) -m pytest tests/integration $(SERVER_LAYER) $(PYTEST_ARGS) || status=$$?; \
	$(KAFKA39) deploy/local/infra.sh kafka-down; exit $$status

# The fault suite starts, kills and stops servers of its own (.local/faults, free ports), never the shared ones; only
# the Kafka jars are shared (fetched by infra.sh into .local/cache when absent). Table: .local/faults-results.json.
faults: venv
	$(PY) -m pytest -m faults tests/faults -s $(PYTEST_ARGS)

test-browser: venv infra-up
	$(PY) -m pytest tests/browser $(PYTEST_ARGS)

bench: venv infra-up
	$(PY) -m bench $(BENCH)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy shared services privacy
	$(PY) -m privacy.inventory --check

run: venv infra-up topics
	deploy/local/platform.sh up
	$(PY) -m demo
	@$(PY) -m demo.keycloak_realm --sign-in
	@deploy/local/platform.sh inbox

# Stops only what `make run` started: with KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL set, those servers are someone
# else's (infra-up started none) and stay up.
stop:
	deploy/local/platform.sh down
ifeq ($(EXTERNAL_INFRA),)
	deploy/local/infra.sh down
else
	@echo "leaving KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL's servers running: make did not start them"
endif

platform-status:
	deploy/local/platform.sh status

ROLE ?= program_admin
SUB ?= local-admin
token: venv
	@$(PY) -m demo.tokens --role $(ROLE) --sub $(SUB) $(if $(KC_USER),--user $(KC_USER)) \
	  $(if $(EMPLOYEE_ID),--employee-id $(EMPLOYEE_ID))
