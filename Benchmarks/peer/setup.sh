#!/usr/bin/env bash
# Makes the peer relay's venv (${PEER_VENV:-/tmp/inlet-peer-venv}) with requirements.txt pinned
# versions; does nothing when they are already installed. Prints the venv's python last.
# Needs `python3 -m venv` (on Debian: apt-get install python3-venv).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${PEER_VENV:-/tmp/inlet-peer-venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2 || { echo "python3 -m venv failed: apt-get install python3-venv" >&2; exit 1; }
fi
if ! "$venv/bin/python" - "$here/requirements.txt" >&2 <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
for line in open(sys.argv[1]):
    name, _, pinned = line.strip().partition("==")
    if not name:
        continue
    try:
        if version(name) != pinned:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt" >&2
fi
echo "$venv/bin/python"
