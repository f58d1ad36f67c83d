# Two commands: `make run` (set up everything and serve) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 5000
export FLASK_APP := wsgi

.PHONY: run test install install-test system-deps system-deps-test migrate worker bench clean translations lock

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: on Debian run 'apt-get install python3-venv'"; exit 1; }
	$(PY) -m pip install -q --upgrade pip

# Installs come from a lock file (every package pinned, dependencies included), then the project
# itself without dependencies. `pip check` fails when setup.cfg asks for something the lock lacks:
# run `make lock` after changing a requirement.
# A stamp file per lock: packages are installed again only when setup.cfg or the lock changed
# (`make run` restarts in a second, not ten). `make clean` or deleting .venv starts afresh.
install: system-deps $(VENV)/.installed-run
	$(MAKE) -s translations

install-test: system-deps-test $(VENV)/.installed-test
	$(MAKE) -s translations

$(VENV)/.installed-run: $(VENV)/bin/activate setup.cfg requirements.lock
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m pip check
	touch $@

$(VENV)/.installed-test: $(VENV)/bin/activate setup.cfg requirements-test.lock
	$(PY) -m pip install -q -r requirements-test.lock
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m pip check
	touch $@

# WeasyPrint's libraries and a font (and Chromium for the browser tests), from Debian's packages.
system-deps:
	@sh scripts/system-deps.sh run

system-deps-test:
	@sh scripts/system-deps.sh test

translations:
	@$(VENV)/bin/pybabel compile -d translations > /dev/null 2>&1 || $(VENV)/bin/pybabel compile -d translations

# The development settings (this port) go to instance/settings.env, which the app and the CLI
# read when PORTAL_ENV is not in the environment: `.venv/bin/flask --app wsgi ...` then works as
# the README prints it, with no variable to set.
run: install
	@$(PY) -c 'import os, sys; from app.config import write_development_settings as w; w(os.environ.get("INSTANCE_PATH") or "instance", sys.argv[1])' $(PORT)
	$(PY) -m flask migrate
	$(PY) -m flask demo --if-empty
	PORT=$(PORT) sh scripts/serve-dev.sh

# The linters first (ruff.toml; import contracts in setup.cfg), then the suite.
test: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest $(PYTEST_ARGS)

worker: install
	$(PY) -m flask worker

# The portal against a bare Flask baseline on a 1M-document database (bench/run.py; about 12
# minutes, BENCH_QUICK=1 for a small one). Figures in bench/results/.
bench: $(VENV)/bin/activate
	@sh scripts/system-deps.sh bench
	$(PY) -m pip install -q -r requirements-bench.lock
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m pip check
	$(MAKE) -s translations
	$(PY) -m bench.run

# Rewrite the lock files from setup.cfg's ranges: requirements.lock (run), requirements-test.lock
# and requirements-bench.lock (run plus the test or bench extra, constrained to the same run pins).
# Pins already in a lock are kept while they fit; `make lock LOCK_ARGS=--upgrade` takes the newest
# that fit, `make lock LOCK_ARGS='--upgrade-package flask'` one package. The locks are universal
# (environment markers, any OS, Python >= 3.11). uv does the resolving; only this target needs it.
UV_SPEC := uv>=0.13,<0.14
LOCK = $(VENV)/bin/uv pip compile -q --universal --python-version 3.11 --custom-compile-command 'make lock' $(LOCK_ARGS) setup.cfg

lock: $(VENV)/bin/activate
	$(PY) -m pip install -q '$(UV_SPEC)'
	$(LOCK) -o requirements.lock
	$(LOCK) --extra test -c requirements.lock -o requirements-test.lock
	$(LOCK) --extra bench -c requirements.lock -o requirements-bench.lock

clean:
	rm -rf $(VENV) instance build *.egg-info
