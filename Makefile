# Two commands: `make run` (set up everything and serve) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 5000
export FLASK_APP := wsgi

.PHONY: run test install install-test system-deps system-deps-test migrate worker bench clean translations

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: on Debian run 'apt-get install python3-venv'"; exit 1; }
	$(PY) -m pip install -q --upgrade pip

install: $(VENV)/bin/activate system-deps
	$(PY) -m pip install -q -e .
	$(MAKE) -s translations

install-test: $(VENV)/bin/activate system-deps-test
	$(PY) -m pip install -q -e '.[test]'
	$(MAKE) -s translations

# WeasyPrint's libraries and a font (and Chromium for the browser tests), from Debian's packages.
system-deps:
	@sh scripts/system-deps.sh run

system-deps-test:
	@sh scripts/system-deps.sh test

translations:
	@$(VENV)/bin/pybabel compile -d translations > /dev/null 2>&1 || $(VENV)/bin/pybabel compile -d translations

run: install
	PORTAL_ENV=$${PORTAL_ENV:-development} $(PY) -m flask migrate
	PORTAL_ENV=$${PORTAL_ENV:-development} $(PY) -m flask demo --if-empty
	PORTAL_ENV=$${PORTAL_ENV:-development} PORT=$(PORT) sh scripts/serve-dev.sh

test: install-test
	$(PY) -m pytest $(PYTEST_ARGS)

worker: install
	$(PY) -m flask worker

# The portal against a bare Flask baseline on a 1M-document database (bench/run.py; about 12
# minutes, BENCH_QUICK=1 for a small one). Figures in bench/results/.
bench: $(VENV)/bin/activate
	@sh scripts/system-deps.sh bench
	$(PY) -m pip install -q -e '.[bench]'
	$(MAKE) -s translations
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) instance build *.egg-info
