# Two commands for a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app web
STAMP := $(VENV)/.installed
# npm ci runs again only when package-lock.json changes; @carbon packages (pulled in by
# form-js) start a telemetry upload at install unless told not to
NODE_STAMP := node_modules/.installed
CHROMIUM := /usr/bin/chromium
PDFTOTEXT := /usr/bin/pdftotext
MO_FILES := $(patsubst %.po,%.mo,$(wildcard web/translations/*/LC_MESSAGES/messages.po))
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install run serve db test test-full bench screenshots translations clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	IBM_TELEMETRY_DISABLED=true npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

# Debian's chromium for the browser tests (Playwright drives it; it never downloads browsers),
# with CJK fonts so pages and screenshots show Chinese text.
$(CHROMIUM):
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y chromium fonts-noto-cjk

# poppler's pdftotext: the tests read the generated PDFs' text as a reader's tool sees it.
$(PDFTOTEXT):
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y poppler-utils

# Compiled translations are build output (not in git).
%.mo: %.po $(STAMP)
	$(VENV)/bin/pybabel compile -i $< -o $@

install: $(STAMP) $(NODE_STAMP) $(CHROMIUM) $(PDFTOTEXT) $(MO_FILES)

# Re-extract the UI strings into the .po files (then translate the new msgids).
translations: $(STAMP)
	$(VENV)/bin/pybabel extract -F web/babel.cfg -k _l -k lazy_gettext -o web/translations/messages.pot .
	$(VENV)/bin/pybabel update -i web/translations/messages.pot -d web/translations --no-fuzzy-matching

db: install
	$(FLASK) db upgrade
	$(FLASK) processes deploy processes forms
	$(FLASK) demo load

# The web server and the scheduler, two processes; Ctrl+C stops both.
# plain log lines in a developer's terminal; production keeps the JSON lines (README, "Watching it")
run: export LOG_FORMAT ?= text
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

# docs/screenshots/*.png from a throw-away database with the demo data
screenshots: install
	$(PY) -m tests.web.take_screenshots

clean:
	rm -rf $(VENV) instance .pytest_cache node_modules
	rm -f web/translations/*/LC_MESSAGES/messages.mo
