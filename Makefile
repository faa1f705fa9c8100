# vendkiosk — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: run test lint typecheck bench chaos venv services-up services-down clean help

help:
	@echo "make run    - start the whole local stack (web, worker, beat, Flower) with demo data"
	@echo "make test   - lint, type-check, migrations check and the full test suite;"
	@echo "              ARGS are passed to pytest: make test ARGS=\"-k beat --durations=15\""
	@echo "make lint   - ruff only; make typecheck - mypy only"
	@echo "make bench  - run the benchmarks in bench/ (figures go to docs/benchmarks.md)"
	@echo "make chaos  - seeded fault-injection run of the whole private stack (SEEDS=\"1 2 3\","
	@echo "              ARGS for bench.chaos, e.g. ARGS=\"--per-kind 5\"); see docs/operations.md"
	@echo "make services-down - stop private PostgreSQL/Redis started under var/"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@bash deploy/local/venv.sh "$(PYTHON)" "$(VENV)"
	@rm -f $(VENV)/.installed-* && touch $@

run: venv
	@bash deploy/local/run.sh

test: venv
	@bash deploy/local/test.sh $(ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy .

# Every bench/*_bench.py (not part of make test); each prints name=value lines at its end.
bench: venv
	@bash deploy/local/bench.sh

# Kills Redis, PostgreSQL, workers and beat of its own private stack under var/chaos-<seed>/ (never
# the shared servers) and compares the result with a fault-free run of the same seed.
SEEDS ?= 1
chaos: venv
	@for seed in $(SEEDS); do $(VENV)/bin/python -m bench.chaos --seed $$seed $(ARGS) || exit 1; done

services-up: venv
	$(VENV)/bin/python deploy/local/services.py up

services-down:
	$(VENV)/bin/python deploy/local/services.py down

clean: services-down
	@# A cluster kept outside the checkout (/var/tmp, see deploy/local/services.py) goes too.
	@for link in var/postgres-*; do [ -L "$$link" ] && rm -rf "$$(readlink -f "$$link")"; done; true
	rm -rf var/ .mypy_cache .ruff_cache .pytest_cache
