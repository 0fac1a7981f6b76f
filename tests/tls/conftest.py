"""A real TLS front for the TLS tests: Debian's nginx terminating TLS (and checking client certificates or API
keys) in front of each dev server's gRPC frontend, with a throwaway PKI made at test time.

One nginx process per engine, started by a session fixture, serves every variant on a port of its own:

- ``tls``: server TLS (certificate for ``localhost``/``127.0.0.1`` from our CA; a second server block answers SNI
  ``tls.wfkit.test`` with a certificate for that name only);
- ``mtls``: the same plus ``ssl_verify_client on`` (client certificates signed by our CA);
- ``apikey``: TLS plus a check of the engine's API key header (Temporal ``authorization: Bearer …``, Cadence
  ``cadence-authorization: …``): HTTP 401 otherwise, which gRPC reads as UNAUTHENTICATED (403, PERMISSION_DENIED,
  for ``FORBIDDEN_KEY``);
- ``expired``: a server certificate that expired yesterday;
- ``full``: all at once: a certificate for ``tls.wfkit.test`` only (so the client must override the server name),
  client certificates required, and the API key checked.

``make tls-setup`` (part of ``make setup``; ``bash tests/tls/setup.sh``) installs nginx; without it these tests
skip outside CI and fail under ``CI=true``, naming that command.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from wfkit.devserver import free_port, port_open

SETUP = "make tls-setup"
SNI_NAME = "tls.wfkit.test"
ENGINES = ("temporal", "cadence")
FORBIDDEN_KEY = "wfk-known-but-without-access"
AUTH_HEADER = {"temporal": ("authorization", "Bearer "), "cadence": ("cadence-authorization", "")}


def nginx_binary() -> str | None:
    found = os.environ.get("WFKIT_NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
    return found if os.path.isfile(found) and os.access(found, os.X_OK) else None


def _require_nginx() -> str:
    found = nginx_binary()
    if found is not None:
        return found
    msg = f"the TLS tests need Debian's nginx (package nginx-light): run `{SETUP}` (bash tests/tls/setup.sh)"
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(f"CI=true and {msg}", pytrace=False)
    pytest.skip(msg)


# ------------------------------------------------------------------------------------------------ the PKI


@dataclasses.dataclass
class Pki:
    """Paths of a throwaway PKI (PEM files in a temporary folder) and an API key."""

    dir: Path
    ca: Path
    other_ca: Path
    server_cert: Path
    server_key: Path
    sni_cert: Path
    sni_key: Path
    expired_server_cert: Path
    expired_server_key: Path
    client_cert: Path
    client_key: Path
    expired_client_cert: Path
    expired_client_key: Path
    foreign_client_cert: Path
    foreign_client_key: Path
    api_key: str

    def secrets(self) -> list[bytes]:
        """What must never show in any output: the API key and every private key (whole and in part)."""
        found = [self.api_key.encode()]
        for path in (self.client_key, self.expired_client_key, self.foreign_client_key):
            pem = path.read_bytes()
            body = b"".join(pem.split(b"\n")[1:-2])
            found += [pem, body[:40], body[-40:]]
        return found


def _make_pki(folder: Path) -> Pki:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def write(stem: str, cert: x509.Certificate, key: Any | None) -> tuple[Path, Path]:
        cert_path, key_path = folder / f"{stem}.pem", folder / f"{stem}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        if key is not None:
            key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
            key_path.chmod(0o600)
        return cert_path, key_path

    def ca(cn: str) -> tuple[x509.Certificate, Any]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(cn)).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=2)).not_valid_after(now + datetime.timedelta(days=2))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                             content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False, encipher_only=False,
                                             decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        return cert, key

    def leaf(issuer: tuple[x509.Certificate, Any], cn: str, *, server: bool, dns: list[str] = (),  # type: ignore[assignment]
             ips: list[str] = (), expired: bool = False) -> tuple[x509.Certificate, Any]:  # type: ignore[assignment]
        key = ec.generate_private_key(ec.SECP256R1())
        start, end = ((now - datetime.timedelta(days=3), now - datetime.timedelta(days=1)) if expired else
                      (now - datetime.timedelta(days=1), now + datetime.timedelta(days=1)))
        b = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(issuer[0].subject)
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(start).not_valid_after(end)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                   else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key()),
                            critical=False))
        if dns or ips:
            b = b.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]),
                critical=False)
        return b.sign(issuer[1], hashes.SHA256()), key

    root, other = ca("wfkit test CA"), ca("another CA")
    ca_path, _ = write("ca", root[0], None)
    other_path, _ = write("other-ca", other[0], None)
    server = write("server", *leaf(root, "localhost", server=True, dns=["localhost"], ips=["127.0.0.1"]))
    sni = write("sni", *leaf(root, SNI_NAME, server=True, dns=[SNI_NAME]))
    expired_server = write("expired-server", *leaf(root, "localhost", server=True, dns=["localhost"],
                                                    ips=["127.0.0.1"], expired=True))
    client = write("client", *leaf(root, "wfkit client", server=False))
    expired_client = write("expired-client", *leaf(root, "wfkit client", server=False, expired=True))
    foreign_client = write("foreign-client", *leaf(other, "wfkit client", server=False))
    return Pki(folder, ca_path, other_path, *server, *sni, *expired_server, *client, *expired_client,
               *foreign_client, api_key=f"wfk-{secrets.token_urlsafe(24)}")


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A throwaway CA, certificates and API key, made once per session (never committed)."""
    return _make_pki(tmp_path_factory.mktemp("pki"))


# ------------------------------------------------------------------------------------------------ nginx


VARIANTS = ("tls", "mtls", "apikey", "expired", "full")


@dataclasses.dataclass
class Front:
    """One nginx in front of one engine's dev server: ``ports[variant]``, the server's own ``backend`` port."""

    engine: str
    ports: dict[str, int]
    backend: int
    pid: int
    log: Path

    def address(self, variant: str) -> str:
        return f"127.0.0.1:{self.ports[variant]}"

    def url(self, variant: str, *, host: str = "127.0.0.1") -> str:
        return f"{self.engine}://{host}:{self.ports[variant]}"


def _nginx_conf(root: Path, pki: Pki, engine: str, ports: dict[str, int], backend: int) -> str:
    header, prefix = AUTH_HEADER[engine]
    variable = "$http_" + header.replace("-", "_")

    def server(variant: str, cert: Path, key: Path, *, extra: str = "", names: str = "", check: str = "") -> str:
        return f"""
    server {{
        listen 127.0.0.1:{ports[variant]} ssl http2{'' if names else ' default_server'};
        {f'server_name {names};' if names else ''}
        ssl_certificate {cert};
        ssl_certificate_key {key};
        {extra}
        location / {{
            {check}
            grpc_pass grpc://127.0.0.1:{backend};
        }}
    }}"""

    tls, mtls = (pki.server_cert, pki.server_key), f"ssl_client_certificate {pki.ca}; ssl_verify_client on;"
    # a key the proxy knows but that has no access (403, which gRPC reads as PERMISSION_DENIED), else 401
    check = (f'if ({variable} = "{prefix}{FORBIDDEN_KEY}") {{ return 403; }}\n'
             f'            if ({variable} != "{prefix}{pki.api_key}") {{ return 401; }}')
    blocks = [
        server("tls", *tls), server("tls", pki.sni_cert, pki.sni_key, names=SNI_NAME),
        server("mtls", *tls, extra=mtls),
        server("apikey", *tls, check=check),
        server("expired", pki.expired_server_cert, pki.expired_server_key),
        server("full", pki.sni_cert, pki.sni_key, extra=mtls, check=check),
    ]
    temp = "\n".join(f"    {k}_temp_path {root / k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""daemon off;
master_process off;
worker_processes 1;
pid {root / 'nginx.pid'};
error_log {root / 'error.log'} info;
events {{ worker_connections 512; }}
http {{
    access_log off;
{temp}
    client_max_body_size 0;
    # long polls last up to ~70 s on both engines
    grpc_read_timeout 300s;
    grpc_send_timeout 300s;
    http2_idle_timeout 300s;
    ssl_protocols TLSv1.2 TLSv1.3;
{''.join(blocks)}
}}
"""


def start_front(engine: str, backend: int, pki: Pki, root: Path) -> tuple[Front, subprocess.Popen[bytes]]:
    nginx = _require_nginx()
    root.mkdir(parents=True, exist_ok=True)
    ports: dict[str, int] = {}
    while len(ports) < len(VARIANTS):
        port = free_port()
        if port not in ports.values():
            ports[VARIANTS[len(ports)]] = port
    conf = root / "nginx.conf"
    conf.write_text(_nginx_conf(root, pki, engine, ports, backend))
    log = root / "error.log"
    proc = subprocess.Popen([nginx, "-p", str(root), "-c", str(conf), "-e", str(log)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    deadline = time.monotonic() + 10
    while not all(port_open("127.0.0.1", p) for p in ports.values()):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            err = (proc.stderr.read() if proc.stderr else b"").decode(errors="replace")
            text = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"nginx did not start: {err}{text[-2000:]}")
        time.sleep(0.05)
    return Front(engine, ports, backend, proc.pid, log), proc


def stop_front(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    if proc.stderr:
        proc.stderr.close()


@pytest.fixture(scope="session")
def front_for(server_for: Callable[[str], Any], pki: Pki,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Front]]:
    """``front_for(engine)``: the nginx TLS front of that engine's dev server, started on first use."""
    fronts: dict[str, tuple[Front, subprocess.Popen[bytes]]] = {}

    def get(engine: str) -> Front:
        if engine not in fronts:
            _require_nginx()
            server = server_for(engine)
            fronts[engine] = start_front(engine, server.port, pki, tmp_path_factory.mktemp(f"nginx-{engine}"))
        return fronts[engine][0]

    yield get
    for _, proc in fronts.values():
        stop_front(proc)


@pytest.fixture(scope="session", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """The TLS tests run on the two server engines (the local engine has no network)."""
    return str(request.param)


@pytest.fixture
def front(engine: str, front_for: Callable[[str], Front]) -> Front:
    return front_for(engine)
