#!/usr/bin/env bash
# Create a virtualenv and install the pinned requirements (only when they changed).
#
#   scripts/bootstrap.sh [REQUIREMENTS]      default requirements-dev.txt, into .venv
#
# KB_VENV names another virtualenv directory. KB_VENV_FRESH=1 makes the virtualenv again from nothing
# when the requirements changed, so it holds exactly what the file asks for and nothing a previous
# version left behind (the production smoke test: KB_VENV=.venv-prod KB_VENV_FRESH=1 ... requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
REQ=${1:-requirements-dev.txt}
VENV=${KB_VENV:-.venv}
stamp=$VENV/.kb-requirements.sha
want=$(cat requirements.txt "$REQ" | sha256sum | cut -d' ' -f1)
if [ "${KB_VENV_FRESH:-0}" = 1 ] && [ -e "$VENV" ] && [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: $REQ changed; making $VENV again"
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "bootstrap: creating $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing $REQ into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
  echo "$want" > "$stamp"
fi
