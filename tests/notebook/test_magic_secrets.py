"""Secrets typed into ``%wf`` never come back: not in one-line errors, not in IPython's traceback of the cell."""

from __future__ import annotations

import io
import socket
from contextlib import redirect_stderr, redirect_stdout

import pytest

SECRET = "sk-wfkit-TOPSECRET-0123456789"


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cell(ip, source: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        ip.run_cell(source, store_history=False)
    return out.getvalue() + err.getvalue()


@pytest.mark.parametrize("short", [True, False])
@pytest.mark.parametrize("line", [
    "connect temporal://127.0.0.1:{port} --apikey {secret}",                    # a mistyped flag
    "connect temporal://127.0.0.1:{port} --api-key {secret} --bogus",
    "connect temporal://user:{secret}@127.0.0.1:abc",
    "connect temporal://127.0.0.1:99999?api_key={secret}",
    "connect temporal://127.0.0.1:{port}?API_KEY={secret}",
    "connect temporal://127.0.0.1:{port}?namespace=x;api_key={secret}&bogus=1",
    "connect {secret}",
    "connect temporal://127.0.0.1:{port}?connect_timeout=1 --api-key {secret}",  # a connection failure
])
def test_secret_not_in_errors_or_tracebacks(ip, capsys, line, short):
    ip.run_line_magic("config", f"WfMagic.short_errors = {short}")
    try:
        shown = _cell(ip, "%wf " + line.format(port=_dead_port(), secret=SECRET))
    finally:
        ip.run_line_magic("config", "WfMagic.short_errors = True")
    shown += "".join(capsys.readouterr())
    assert "Error" in shown or "Failed" in shown, shown
    assert SECRET not in shown, shown


def test_mistyped_flag_names_the_flag(ip, capsys):
    ip.run_line_magic("wf", f"connect temporal://127.0.0.1:1 --apikey {SECRET}")
    err = capsys.readouterr().err
    assert "unrecognized arguments: --apikey" in err and SECRET not in err
