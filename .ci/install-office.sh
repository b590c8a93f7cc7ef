#!/usr/bin/env bash
# Install what the document tests need to turn a .docx into PDF and read it back, and to open
# the .xlsx as a person would: LibreOffice Writer and Calc (soffice), poppler (pdftotext, pdfinfo, pdftoppm) and Liberation fonts
# (metric-compatible with Times New Roman). Idempotent and quiet: does nothing and exits 0 when
# soffice and pdftotext are already on PATH. Needs root (CI runs as root).
set -euo pipefail

has_calc() {
    [ -e "$(dirname "$(readlink -f "$(command -v soffice)")")/libsclo.so" ]
}
if command -v soffice >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1 \
    && fc-list 2>/dev/null | grep -i "Liberation Serif" >/dev/null && has_calc; then
    exit 0
fi

. "$(dirname "$0")/apt.sh"
apt_install libreoffice-writer-nogui libreoffice-calc-nogui poppler-utils fonts-liberation2

command -v soffice >/dev/null 2>&1 || { echo "install-office: soffice still missing" >&2; exit 1; }
command -v pdftotext >/dev/null 2>&1 || { echo "install-office: pdftotext still missing" >&2; exit 1; }
