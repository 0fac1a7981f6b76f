"""Temporal's own client configuration, as its CLI and SDKs share it (``temporalio.envconfig``): the profiles file
``temporal.toml`` (``TEMPORAL_CONFIG_FILE``, else the user's config folder) and the ``TEMPORAL_*`` environment
variables (``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``, ``TEMPORAL_TLS_*``,
``TEMPORAL_PROFILE``, ``TEMPORAL_GRPC_META_*``), which win over the file.

wfkit reads them for a URL that names no server (``temporal://``, ``temporal://?namespace=…``) or when a profile
is asked for (``connect(..., profile=…)``); what the URL and keyword arguments give wins either way."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from wfkit.engine import ConnectConfig, Secret, WfkitError, check_api_key, split_address


def apply_client_config(cfg: ConnectConfig) -> None:
    if cfg.dev:
        if cfg.profile is not None:
            raise WfkitError(f"profile {cfg.profile!r}: an embedded server (temporal+dev://) takes no client profile")
        return
    if "host" in cfg.explicit and cfg.profile is None:
        return  # a URL that names its server is taken as it is (TEMPORAL_API_KEY still applies, as before)
    from temporalio.envconfig import ClientConfigProfile

    failure = None
    try:
        profile = ClientConfigProfile.load(profile=cfg.profile)
    except Exception as exc:  # noqa: BLE001 - the bridge's ConfigError; its text may quote the file (a key)
        failure = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if failure is not None:  # raised out here, so that the SDK's error is not even the context of ours
        name = cfg.profile or os.environ.get("TEMPORAL_PROFILE") or "default"
        where = os.environ.get("TEMPORAL_CONFIG_FILE") or "Temporal's default temporal.toml"
        raise WfkitError(f"Temporal client configuration, profile {name!r} ({where}): {failure}")
    _fill(cfg, profile)


def _fill(cfg: ConnectConfig, profile: Any) -> None:
    given = cfg.explicit
    if profile.address and "host" not in given:
        host, port = split_address(profile.address, f"Temporal client configuration: address {profile.address!r}")
        if host:
            cfg.host = host
        if port is not None and "port" not in given:
            cfg.port = port
    if profile.namespace and "namespace" not in given:
        cfg.namespace = profile.namespace
    if profile.api_key and "api_key" not in given:
        cfg.api_key = check_api_key(Secret(profile.api_key))
    tls = profile.tls
    if tls is not None and tls.disabled:
        if "tls" not in given:
            cfg.tls = False
    elif tls is not None:
        if "tls" not in given:
            cfg.tls = True
        if tls.server_name and "server_name" not in given:
            cfg.server_name = tls.server_name
        for field, source in (("tls_ca", tls.server_root_ca_cert), ("tls_cert", tls.client_cert)):
            if source is not None and field not in given:
                setattr(cfg, field, _text(source))
        if tls.client_private_key is not None and "tls_key" not in given:
            key = tls.client_private_key
            cfg.tls_key = Secret(str(key) if isinstance(key, Path) else key)
    elif profile.api_key and "tls" not in given:
        cfg.tls = True  # as Temporal's SDKs do: an API key goes over TLS
    if profile.grpc_meta:
        cfg.grpc_metadata = {**dict(profile.grpc_meta), **cfg.grpc_metadata}


def _text(source: Any) -> str:
    """A profile's path or inline PEM data as a wfkit TLS setting (a path, or the PEM text itself)."""
    if isinstance(source, Path):
        return str(source)
    return source.decode() if isinstance(source, bytes) else str(source)
