# Lectern: `make run` serves the demo, `make test` runs the whole suite. Both do their own
# set-up on a fresh Debian 12 machine: system packages, .venv, migrations, catalogs, demo data.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# Rebuilt only when the dependency list changes.
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Extra pytest arguments for both runs, e.g. make test PYTEST_ARGS="-k health -x"
PYTEST_ARGS ?=
# Production settings for `make check`; the key only has to look like a real one.
DEPLOY_ENV := LECTERN_DEBUG=0 LECTERN_ALLOWED_HOSTS=lectern.example.org \
	LECTERN_SECRET_KEY=check-deploy-7f3a9c1e5b2d8f4a6c0e9b3d7f1a5c8e2b6d0f4a9c3e7b1d5f8a2c6e0b4d

.PHONY: run test check bench bench-load system system-test venv npm prepare messages

run: system venv prepare
	$(PY) manage.py run_lectern --host $(HOST) --port $(PORT)

test: system-test venv npm
	$(PY) manage.py compilemessages --ignore=$(VENV) --verbosity 0
	scripts/test.sh $(PYTEST_ARGS)

check: venv npm
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(DEPLOY_ENV) $(PY) manage.py check --deploy --fail-level WARNING

bench: system venv
	$(PY) bench/run.py

# Load bench on loopback (bench/load.py): its own throwaway site, bounded, about 3 minutes.
bench-load: system venv
	$(PY) bench/load.py

system:
	scripts/system_packages.sh run

system-test:
	scripts/system_packages.sh test

venv: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

# Front-end libraries (the player's media-chrome...) exactly as package-lock.json pins them;
# reinstalled only when the lockfile changes. Served as static files, never from a CDN.
NPM_STAMP := node_modules/.installed

npm: $(NPM_STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	# hls.js plays render playlists where the browser has no native HLS (static/js/hls_player.js).
	mkdir -p static/vendor/hls.js
	cp node_modules/hls.js/dist/hls.min.js node_modules/hls.js/dist/hls.min.js.map node_modules/hls.js/LICENSE \
	  static/vendor/hls.js/
	touch $(NPM_STAMP)

prepare: venv npm
	mkdir -p "$${LECTERN_VAR_DIR:-var}"
	$(PY) manage.py migrate --noinput
	$(PY) manage.py compilemessages --ignore=$(VENV) --verbosity 0
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py seed_demo

# Translators: refresh the catalogs from the code, then compile them.
messages: venv
	$(PY) manage.py makemessages -l zh_Hans --ignore=$(VENV) --ignore=staticfiles --ignore=var
	$(PY) manage.py compilemessages --ignore=$(VENV)
