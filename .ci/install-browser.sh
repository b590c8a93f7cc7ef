#!/usr/bin/env bash
# Install what the browser tests need: Debian's Chromium (headless, driven by Playwright's
# Python client pointed at /usr/bin/chromium; `playwright install` is never run) and the
# fonts it renders Vietnamese with. Idempotent and quiet: does nothing and exits 0 when
# /usr/bin/chromium is there. Needs root or sudo (CI runs as root).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! { $SUDO apt-get update -qq \
        && $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation2; \
        } >"$log" 2>&1; then
    cat "$log" >&2
    exit 1
fi

[ -x /usr/bin/chromium ] || { echo "install-browser: /usr/bin/chromium still missing" >&2; exit 1; }
