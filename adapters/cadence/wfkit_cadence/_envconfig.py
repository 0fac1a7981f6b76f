"""Cadence's connection settings from the environment: wfkit's own ``CADENCE_*`` variables, named after
Temporal's ``TEMPORAL_*`` ones (Cadence's clients share no configuration file or variables of their own).

They apply to a URL that names no server (``cadence://``, ``cadence://?domain=…``); what the URL and keyword
arguments give wins. ``CADENCE_API_KEY`` (and ``WFKIT_API_KEY``) apply to every connection, as before."""

from __future__ import annotations

import os
from collections.abc import Mapping

from wfkit.engine import ConnectConfig, WfkitError, split_address

ENVIRONMENT = {
    "CADENCE_ADDRESS": "host:port of the frontend (gRPC)",
    "CADENCE_DOMAIN": "the domain",
    "CADENCE_API_KEY": "the API key, sent as the cadence-authorization header",
    "CADENCE_TLS": "1/true: TLS (implied by any CADENCE_TLS_* path)",
    "CADENCE_TLS_SERVER_CA_CERT_PATH": "the CA certificate that signed the server's",
    "CADENCE_TLS_CLIENT_CERT_PATH": "the client certificate (mutual TLS)",
    "CADENCE_TLS_CLIENT_KEY_PATH": "the client certificate's private key",
    "CADENCE_TLS_SERVER_NAME": "the server name to verify and send as SNI",
}
"""The variables and what each means (the README lists them beside Temporal's)."""

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def apply_client_config(cfg: ConnectConfig, env: Mapping[str, str] | None = None) -> None:
    if cfg.dev or "host" in cfg.explicit:
        return
    env = os.environ if env is None else env
    given = cfg.explicit
    address = env.get("CADENCE_ADDRESS", "").strip()
    if address and "host" not in given:
        host, port = split_address(address, f"CADENCE_ADDRESS={address!r} (expected host:port)")
        if host:
            cfg.host = host
        if port is not None and "port" not in given:
            cfg.port = port
    if env.get("CADENCE_DOMAIN") and "namespace" not in given:
        cfg.namespace = env["CADENCE_DOMAIN"].strip()
    for var, field in (("CADENCE_TLS_SERVER_CA_CERT_PATH", "tls_ca"), ("CADENCE_TLS_CLIENT_CERT_PATH", "tls_cert"),
                       ("CADENCE_TLS_SERVER_NAME", "server_name")):
        if env.get(var) and field not in given:
            setattr(cfg, field, env[var].strip())
            if field != "server_name" and "tls" not in given:
                cfg.tls = True
    if env.get("CADENCE_TLS_CLIENT_KEY_PATH") and "tls_key" not in given:
        from wfkit.engine import Secret

        cfg.tls_key = Secret(env["CADENCE_TLS_CLIENT_KEY_PATH"].strip())
        if "tls" not in given:
            cfg.tls = True
    flag = env.get("CADENCE_TLS")
    if flag is not None and "tls" not in given:
        value = flag.strip().lower()
        if value not in _TRUE | _FALSE:
            raise WfkitError(f"CADENCE_TLS={flag!r}: expected 1/0/true/false")
        cfg.tls = value in _TRUE
