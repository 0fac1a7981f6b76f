#!/usr/bin/env bash
# Installs what tests/browser/test_jupyterlab.py needs: Debian's Chromium (apt) and JupyterLab + Playwright
# (PyPI) in the project's virtualenv. Idempotent: when all is there it only checks and exits (well under a second).
# Playwright drives /usr/bin/chromium; it never downloads a browser of its own (no `playwright install`).
#
#   bash tests/browser/setup.sh            # uses .venv/bin/python (override with PY=/path/to/python)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PY:-.venv/bin/python}"
CHROMIUM="${WFKIT_CHROMIUM:-/usr/bin/chromium}"
JUPYTERLAB_SPEC="${JUPYTERLAB_SPEC:-jupyterlab>=4.2,<5}"
PLAYWRIGHT_SPEC="${PLAYWRIGHT_SPEC:-playwright>=1.45,<2}"

if [ ! -x "$CHROMIUM" ]; then
    echo "browser setup: installing Debian's chromium (apt-get)"
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
"$CHROMIUM" --version 2>/dev/null  # (its launcher script may warn about /dev/shm on stderr)

if [ ! -x "$PY" ]; then
    echo "browser setup: $PY not found (run \`make setup\` first, or set PY=...)" >&2
    exit 1
fi
# find_spec, not import: importing jupyterlab alone takes seconds
if ! "$PY" -c "import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None for m in \
        ('jupyterlab', 'playwright', 'ipywidgets', 'jupyterlab_widgets')))" 2>/dev/null; then
    echo "browser setup: installing JupyterLab and Playwright into $("$PY" -c 'import sys; print(sys.prefix)')"
    "$PY" -m pip install -q "$JUPYTERLAB_SPEC" "$PLAYWRIGHT_SPEC" "ipywidgets>=8" "jupyterlab_widgets>=3"
fi
"$PY" -c "from importlib.metadata import version as v
print('jupyterlab', v('jupyterlab'), '| playwright', v('playwright'))"
