#!/usr/bin/env bash
# The production runner (docs/DEPLOY.md). Unlike `make run` it never installs and never trains: it checks
# the whole configuration first (deploy/preflight.py: a wrong or missing value stops it, naming the
# variable), requires the existing key (MELDWIJZER_REQUIRE_KEY=1), refuses unauthenticated channels, and
# logs JSON lines without user text.
#
#   scripts/serve.sh            both servers in the foreground (one machine, no service manager)
#   scripts/serve.sh rasa       only the Rasa server   (systemd unit / container)
#   scripts/serve.sh actions    only the action server (systemd unit / container)
#   scripts/serve.sh check      only the configuration check
#
# Settings come from the environment (deploy/meldwijzer.env.example lists them). The virtualenv is
# MELDWIJZER_VENV (default .venv in the checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-all}"
case "$mode" in all|rasa|actions|check) ;; *) echo "usage: scripts/serve.sh [all|rasa|actions|check]" >&2; exit 64 ;; esac

VENV="${MELDWIJZER_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "configuration error: MELDWIJZER_VENV: no Python environment with Rasa at $VENV (install it with" \
       "scripts/setup.sh on a build machine; this runner never installs)" >&2
  exit 2
fi
export RASA_PORT="${RASA_PORT:-5005}" ACTIONS_PORT="${ACTIONS_PORT:-5055}"
export MELDWIJZER_REQUIRE_KEY=1         # a missing key is an error, never a new key
export RASA_TELEMETRY_ENABLED=false     # a school's server never phones home
export SANIC_HOST=127.0.0.1             # the action server is internal: never exposed
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # bot/ and deploy/ importable from any working directory
export SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=3 PYTHONUNBUFFERED=1
export LOG_LEVEL="${LOG_LEVEL:-INFO}"
interface="${MELDWIJZER_INTERFACE:-127.0.0.1}"
model="${MELDWIJZER_MODEL:-models/meldwijzer.tar.gz}"

credentials=$("$VENV/bin/python" -m deploy.preflight) || exit 2
[ "$mode" = check ] && { echo "configuration ok"; exit 0; }

run_actions() {
  exec "$VENV/bin/python" -m deploy.jsonlog actions.server --port "$ACTIONS_PORT"
}
run_rasa() {
  exec "$VENV/bin/python" -m deploy.jsonlog rasa run --model "$model" --endpoints endpoints.yml \
    --credentials "$credentials" --interface "$interface" --port "$RASA_PORT"
}
case "$mode" in
  rasa) run_rasa ;;
  actions) run_actions ;;
esac

# Both in the foreground: one stops -> the other is stopped too and the exit status is non-zero, so a
# supervisor restarts the pair instead of keeping half a server.
run_actions & actions_pid=$!
run_rasa & rasa_pid=$!
trap 'kill $actions_pid $rasa_pid 2>/dev/null; wait 2>/dev/null; exit 0' INT TERM
status=0
wait -n $actions_pid $rasa_pid || status=$?
kill $actions_pid $rasa_pid 2>/dev/null || true
wait 2>/dev/null || true
exit $(( status == 0 ? 1 : status ))
