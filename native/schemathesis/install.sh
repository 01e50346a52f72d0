#!/usr/bin/env bash
# Schemathesis (PyPI), pinned, in a venv of its own under the cache: the native-stack test
# native/test/schemathesis.test.ts runs it against the OpenAPI documents.
#   install.sh          install it unless the pinned version is there already (quick then)
#   install.sh --path   print the executable's path if the pinned version is there, else fail saying how to install
set -euo pipefail

VERSION=4.32.5
VENV="${SCHEMATHESIS_VENV:-$HOME/.cache/sum-pipeline/schemathesis}"
BIN="$VENV/bin/schemathesis"

installed() { [ -x "$BIN" ] && [ "$("$BIN" --version 2>/dev/null | awk '{print $NF}')" = "$VERSION" ]; }

if [ "${1:-}" = "--path" ]; then
  installed || { echo "Schemathesis $VERSION is not installed in $VENV: run 'make install-schemathesis'" >&2; exit 1; }
  echo "$BIN"
  exit 0
fi

installed && exit 0
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  echo "installing python3-venv (apt)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
installed || { echo "Schemathesis $VERSION did not install into $VENV" >&2; exit 1; }
echo "Schemathesis $VERSION installed in $VENV"
