#!/usr/bin/env bash
# Installs what tests/tls needs: Debian's nginx (apt: nginx-light, which has the ssl, http_v2 and grpc modules)
# as the TLS front of the dev servers, and `cryptography` (the test extra) for the throwaway certificates.
# Idempotent: when nginx is there it only checks and exits. The tests run their own nginx processes (unprivileged
# ports on 127.0.0.1, config and logs in a temporary folder); they never use Debian's nginx service.
#
#   bash tests/tls/setup.sh            # as root, or with sudo; WFKIT_NGINX=/path/to/nginx to use another one
set -euo pipefail
cd "$(dirname "$0")/../.."
NGINX="${WFKIT_NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}"

if [ ! -x "$NGINX" ]; then
    if [ "$(id -u)" -eq 0 ]; then SUDO=;
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO=sudo;
    else
        echo "TLS test setup: nginx is missing and installing it needs root: run as root, or" \
             "sudo apt-get install nginx-light (or set WFKIT_NGINX); without it the TLS tests skip (fail under CI=true)" >&2
        exit 1
    fi
    echo "TLS test setup: installing Debian's nginx-light (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    # nginx-light until Debian 12; later releases ship the same modules in the nginx package itself
    $SUDO apt-get install -y -qq --no-install-recommends nginx-light >/dev/null 2>&1 \
        || $SUDO apt-get install -y -qq --no-install-recommends nginx >/dev/null
    NGINX=/usr/sbin/nginx
fi
# the modules the front needs (a build without them fails at its first `nginx -t`)
"$NGINX" -V 2>&1 | grep -q -- "--with-http_v2_module" || { echo "$NGINX lacks http_v2" >&2; exit 1; }
"$NGINX" -V 2>&1 | grep -q -- "--with-http_ssl_module" || { echo "$NGINX lacks ssl" >&2; exit 1; }
"$NGINX" -v 2>&1
