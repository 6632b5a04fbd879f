#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: the virtual environment, the Python packages, the
# widget's front end and, with --test, the system packages the test suite needs.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv

if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi

# Reinstall only when the dependency list changed (TensorFlow alone takes ~2 minutes).
stamp="$VENV/.dltrack-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "== installing Python packages (first time: a few minutes)"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e ".[dev]"
  touch "$stamp"
fi

if [ ! -f dltrack_widget/static/widget.js ] || [ -n "$(find js -maxdepth 1 -newer dltrack_widget/static/widget.js -name '*.js' -o -maxdepth 1 -newer dltrack_widget/static/widget.js -name '*.css' 2>/dev/null)" ]; then
  echo "== building the widget front end"
  (cd js && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)
fi

if [ "${1:-}" = "--test" ]; then
  # The Firebase Auth emulator (firebase-tools from npm) for the training-token tests.
  if [ ! -d tools/firebase/node_modules/firebase-tools ]; then
    echo "== installing firebase-tools for the Auth emulator (first time: a couple of minutes)"
    (cd tools/firebase && npm ci --no-audit --no-fund --loglevel=error)
  fi
  missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v rabbitmq-server >/dev/null || missing+=(rabbitmq-server)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing ${missing[*]} (Debian packages)"
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
  fi
fi
