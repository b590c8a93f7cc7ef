#!/usr/bin/env bash
# Install what the browser tests need: Debian's Chromium (headless, driven by Playwright's
# Python client pointed at /usr/bin/chromium; `playwright install` is never run) and the
# fonts it renders Vietnamese with. Idempotent and quiet: does nothing and exits 0 when
# /usr/bin/chromium is there. Needs root or sudo (CI runs as root).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi

. "$(dirname "$0")/apt.sh"
apt_install chromium fonts-liberation2

[ -x /usr/bin/chromium ] || { echo "install-browser: /usr/bin/chromium still missing" >&2; exit 1; }
