"""The codec options of the shell and the magic (``wfkit export``, ``%wf connect``): one builder for both."""

from __future__ import annotations

import argparse
import os
from typing import Any

from ._payload import CodecError


def add_codec_arguments(p: argparse.ArgumentParser) -> None:
    """``--codec-server``, ``--codec-auth-env``, ``--codec-header`` and ``--codec-key-file`` on ``p``."""
    p.add_argument("--codec-server", default=None,
                   help="decode (and encode) payloads through this codec server (the one the Web UI and CLI use)")
    p.add_argument("--codec-auth-env", default=None, metavar="VAR",
                   help="send the codec server 'Authorization: Bearer <value of the environment variable VAR>'")
    p.add_argument("--codec-header", action="append", default=None, metavar="NAME=env:VAR",
                   help="send the codec server the header NAME with the value of the environment variable VAR "
                        "(repeatable; values are read from the environment, never from the command line)")
    p.add_argument("--codec-key-file", default=None,
                   help='encrypt payloads with AES-GCM keys from this JSON file ({"keys": {"k1": "<base64>"}})')


def codec_options(ns: argparse.Namespace) -> dict[str, Any]:
    """The ``wfkit.connect`` keyword arguments (``codec``) the parsed codec options ask for ({} for none)."""
    from wfkit._config import Secret

    headers: dict[str, str | Secret] = {}
    if ns.codec_auth_env:
        headers["Authorization"] = Secret("Bearer " + _env(ns.codec_auth_env, "--codec-auth-env"))
    for item in ns.codec_header or []:
        name, eq, source = item.partition("=")
        if not eq or not name.strip() or not source.startswith("env:") or not source[4:]:
            raise CodecError(f"--codec-header takes NAME=env:VAR (the value is read from the environment "
                             f"variable VAR), not {item.partition('=')[0].strip() or '(nothing)'}=…")
        headers[name.strip()] = Secret(_env(source[4:], f"--codec-header {name.strip()}"))
    if headers and not ns.codec_server:
        raise CodecError("--codec-auth-env and --codec-header are for a codec server: give --codec-server too")
    if ns.codec_server and ns.codec_key_file:
        raise CodecError("give --codec-server or --codec-key-file, not both")
    if ns.codec_server:
        from ._remote import RemoteCodec

        return {"codec": RemoteCodec(ns.codec_server, headers=headers)}
    if ns.codec_key_file:
        from ._aesgcm import AESGCMCodec

        return {"codec": AESGCMCodec.from_key_file(ns.codec_key_file)}
    return {}


def _env(var: str, option: str) -> str:
    value = os.environ.get(var)
    if not value:
        raise CodecError(f"{option}: the environment variable {var} is not set")
    return value
