#!/usr/bin/env bash
# Make sure a local copy of MathJax 3 is there for the browser check of the built site.
# The published book loads MathJax from its CDN; the site test (tests/site) serves this copy
# in its place, so it typesets every page without network. Installs npm's mathjax package,
# pinned, into _build/mathjax; installs Debian's npm first when npm is missing (as root, or
# through sudo), as scripts/ensure_chromium.sh does for Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=3.2.2
DEST=_build/mathjax
PACKAGE="$DEST/node_modules/mathjax"
if [ -f "$PACKAGE/es5/tex-mml-chtml.js" ] && grep -q "\"version\": \"$VERSION\"" "$PACKAGE/package.json"; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "npm not found: installing Debian's npm package to fetch MathJax for the browser check."
  bash scripts/apt_install.sh npm
fi
echo "Installing mathjax@$VERSION from npm into $DEST for the browser check."
mkdir -p "$DEST"
npm install --prefix "$DEST" --no-save --no-package-lock --no-audit --no-fund --silent "mathjax@$VERSION"
test -f "$PACKAGE/es5/tex-mml-chtml.js"
