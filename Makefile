# Two commands do everything on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.idlegrid-installed

.PHONY: setup run test lint bench system-deps clean contracts package package-test screenshots

setup: $(STAMP) node_modules/.installed

$(STAMP): pyproject.toml tools/setup.sh tools/uv.sh requirements/app.lock requirements/torch-cpu.lock
	tools/setup.sh
	touch $@

# anvil for the devnet and the chain tests, pinned in package-lock.json (npm package @foundry-rs/anvil)
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund || npm install --no-audit --no-fund
	touch $@

system-deps:
	tools/system-deps.sh

# The app on the local devnet (demo requester + verifier); the headless worker where no display exists.
run: setup
	tools/run.sh

screenshots: setup system-deps
	xvfb-run -a $(PY) tools/screenshots.py

test: setup system-deps lint
	$(PY) -m pytest $(PYTEST_ARGS)

# ruff and mypy, configured in pyproject.toml and installed by setup from the lock (the dev extra); `make test` runs them first.
lint: setup
	$(PY) -m ruff check .
	$(PY) -m mypy

bench: setup
	@for b in bench/[a-z]*.py; do m=$$(basename $$b .py); echo "== bench.$$m"; $(PY) -m bench.$$m || exit 1; done

contracts: setup
	$(PY) tools/compile_contracts.py

# The installable app (packaging/README.md): dist/idlegrid/ and the Linux tarball.
PACKAGE_STAMP := $(VENV)/.idlegrid-package-tools
$(PACKAGE_STAMP): pyproject.toml $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -e ".[package]" 2>&1 | grep -v 'is ignored: it is neither' || true
	touch $@

package: setup $(PACKAGE_STAMP)
	packaging/build.sh

package-test: package
	$(PY) packaging/smoke_test.py

clean:
	rm -rf $(VENV) node_modules build dist out .pytest_cache
