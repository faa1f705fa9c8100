#!/usr/bin/env bash
# Create the virtualenv with Python 3.11 and install the project with its dev tools.
set -euo pipefail
python=${1:-python3.11}
venv=${2:-.venv}

if ! command -v "$python" >/dev/null 2>&1; then
  if command -v python3 >/dev/null 2>&1 && python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    python=python3
  else
    echo "vendkiosk needs Python 3.11: install python3.11 and python3.11-venv (apt-get install python3.11 python3.11-venv), or set PYTHON=/path/to/python3.11" >&2
    exit 1
  fi
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "[venv] creating $venv with $("$python" --version)"
  if ! "$python" -m venv "$venv"; then
    echo "[venv] could not create the virtualenv: install python3.11-venv (apt-get install python3.11-venv)" >&2
    exit 1
  fi
fi
echo "[venv] installing vendkiosk and its tools into $venv (first run takes a minute) ..."
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[dev]'
bash "$(dirname "$0")/system-libs.sh"
echo "[venv] ready"
