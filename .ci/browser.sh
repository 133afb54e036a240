#!/usr/bin/env bash
# CI: install Debian's Chromium for the Playwright browser tests (no browser download).
# Playwright drives /usr/bin/chromium through `executable_path`; see tests/browser/.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    /usr/bin/chromium --version
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
/usr/bin/chromium --version
