#!/usr/bin/env bash
# Idempotent set-up: Python 3.10 virtualenv, pinned dependencies, the Dutch spaCy model and, with
# `--dev`, the lint tools; with `--test`, those and the browser for the web tests. Re-running it with
# nothing changed takes a second.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
STAMP="$VENV/.meldwijzer-installed"

find_python310() {
  local candidates=(python3.10)
  if command -v pyenv >/dev/null 2>&1; then
    candidates+=("$(pyenv root)"/versions/3.10.*/bin/python)
  fi
  candidates+=("$HOME"/.pyenv/versions/3.10.*/bin/python /usr/bin/python3.10 /usr/local/bin/python3.10)
  for py in "${candidates[@]}"; do
    if [ -x "$(command -v "$py" 2>/dev/null || echo "$py")" ] \
       && "$py" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' 2>/dev/null; then
      command -v "$py" 2>/dev/null || echo "$py"
      return 0
    fi
  done
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  if ! PY=$(find_python310); then
    echo "Meldwijzer needs Python 3.10 (Rasa 3.6 refuses 3.11+). Install it (e.g. 'pyenv install 3.10')" >&2
    echo "and run this again." >&2
    exit 1
  fi
  echo "==> Creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi

want=$(cat requirements.txt constraints.txt | sha256sum | cut -c1-16)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  echo "==> Installing pinned dependencies (first run takes a few minutes)"
  "$VENV/bin/pip" install --quiet --upgrade "pip<24.1"
  "$VENV/bin/pip" install --quiet -r requirements.txt -c constraints.txt
  echo "$want" > "$STAMP"
fi

# With `--dev` or `--test`: the static checks of `make lint` (ruff, mypy), pinned in requirements-dev.txt.
DEV_STAMP="$VENV/.meldwijzer-dev-installed"
want_dev=$(cat requirements-dev.txt constraints.txt | sha256sum | cut -c1-16)
if [[ "${1:-}" =~ ^--(dev|test)$ ]] && [ "$(cat "$DEV_STAMP" 2>/dev/null)" != "$want_dev" ]; then
  echo "==> Installing the pinned lint and type-check tools"
  "$VENV/bin/pip" install --quiet -r requirements-dev.txt -c constraints.txt
  echo "$want_dev" > "$DEV_STAMP"
fi

if ! "$VENV/bin/python" -c "import nl_core_news_sm" 2>/dev/null; then
  wheel=$(ls ../shared/models/nl_core_news_sm-*.whl 2>/dev/null | head -n1 || true)
  if [ -n "$wheel" ]; then
    echo "==> Installing the Dutch spaCy model from $wheel"
    "$VENV/bin/pip" install --quiet --no-deps "$wheel"
  else
    echo "==> Installing the official Dutch spaCy model nl_core_news_sm 3.7.0"
    "$VENV/bin/pip" install --quiet --no-deps \
      https://github.com/explosion/spacy-models/releases/download/nl_core_news_sm-3.7.0/nl_core_news_sm-3.7.0-py3-none-any.whl
  fi
fi

# The dossier PDF needs a Unicode font (names like "Şeyma"); without it fpdf2 falls back to Latin-1.
if [ ! -d /usr/share/fonts/truetype/dejavu ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "==> Installing DejaVu fonts for the dossier PDF (Debian package)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-dejavu-core >/dev/null
fi

if [ "${1:-}" = "--test" ] && [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "==> Installing Chromium and fonts for the browser tests (Debian packages)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
  else
    echo "warning: /usr/bin/chromium missing and apt-get unavailable; browser tests will fail" >&2
  fi
fi
"$VENV/bin/pip" check >/dev/null || { "$VENV/bin/pip" check; exit 1; }
