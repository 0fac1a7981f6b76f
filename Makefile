# wfkit — newcomers need two commands: `make demo` and `make test`. Both run `make setup` first (idempotent).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.wfkit-installed
PYTEST_ARGS ?=

.PHONY: setup test demo cadence-server browser-setup bench clean

setup: $(STAMP) cadence-server

$(STAMP): pyproject.toml adapters/temporal/pyproject.toml adapters/cadence/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[notebook,telemetry,test]" -e adapters/temporal -e adapters/cadence
	touch $(STAMP)

# The Cadence server is built once from its Go modules and cached outside the repo (~/.cache/wfkit/cadence-<version>/).
cadence-server: $(STAMP)
	$(PY) -m wfkit_cadence.devserver --build

# Chromium (apt) + JupyterLab/Playwright for tests/browser; without them that test skips, naming this target.
browser-setup: $(STAMP)
	PY=$(PY) bash tests/browser/setup.sh

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

demo: setup
	$(VENV)/bin/wfkit demo

bench: setup
	for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) demo-output reports .pytest_cache
