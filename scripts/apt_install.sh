#!/usr/bin/env bash
# Install Debian packages that a check of `make test` needs, as root or through sudo:
#   bash scripts/apt_install.sh PACKAGE...
set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "error: $* is missing and this user cannot install packages." >&2
  echo "Install it yourself (e.g. 'apt-get install $*') and run 'make test' again." >&2
  exit 1
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
