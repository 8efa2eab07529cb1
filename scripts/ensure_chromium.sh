#!/usr/bin/env bash
# Make sure a headless Chromium is available for the browser check of the built site.
# Installs Debian's package when it is missing (as root, or through sudo).
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
echo "Chromium not found: installing Debian's chromium package for the browser check."
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "error: chromium is missing and this user cannot install packages." >&2
  echo "Install it yourself (e.g. 'apt-get install chromium') and run 'make test' again." >&2
  exit 1
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null
