#!/usr/bin/env bash
# Make sure a headless Chromium is available for the browser check of the built site.
# Installs Debian's package when it is missing (as root, or through sudo).
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
echo "Chromium not found: installing Debian's chromium package for the browser check."
bash "$(dirname "$0")/apt_install.sh" chromium
command -v chromium >/dev/null
