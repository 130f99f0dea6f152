# Two commands for a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app web
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install run serve db test test-full bench clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

db: install
	$(FLASK) db upgrade
	$(FLASK) processes deploy processes forms
	$(FLASK) demo load

# The web server and the scheduler, two processes; Ctrl+C stops both.
run: db
	@echo "Serving on http://$(HOST):$(PORT) (scheduler beside it; Ctrl+C stops both)"
	@trap 'kill 0' EXIT INT TERM; \
	  $(FLASK) scheduler run --interval 30 & \
	  $(FLASK) run --host $(HOST) --port $(PORT)

# The fast tier (what a developer runs); .ci/run adds the slow tier and PostgreSQL.
test: install
	$(VENV)/bin/pytest -q

test-full: install
	$(VENV)/bin/pytest -q -m "slow or not slow"

bench: install
	$(PY) bench/engine_bench.py --quick

clean:
	rm -rf $(VENV) instance .pytest_cache
