#!/usr/bin/env bash
# Start the action server and the Rasa server together in the foreground; Ctrl-C stops both.
# Without REST clients (MELDWIJZER_REST_CLIENTS / MELDWIJZER_API_TOKEN) both bind to 127.0.0.1 only and
# REST serves this machine without a token (local mode, for trying the bot); with clients, Rasa listens
# on all interfaces and every REST request needs its client's "Authorization: Bearer <token>".
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_PORT="${RASA_PORT:-5005}" ACTIONS_PORT="${ACTIONS_PORT:-5055}"
export SANIC_HOST=127.0.0.1            # the action server is internal: never exposed
export RASA_TELEMETRY_ENABLED=false    # a school's server never phones home
# The secret only the Rasa server and the action server share (actions/server.py): one per run.
export MELDWIJZER_ACTIONS_TOKEN="${MELDWIJZER_ACTIONS_TOKEN:-$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(24))')}"
interface=127.0.0.1
if [ -n "${MELDWIJZER_API_TOKEN:-}${MELDWIJZER_REST_CLIENTS:-}" ]; then
  interface=0.0.0.0
else
  export MELDWIJZER_REST_LOCAL=1
fi
# Without staff tokens the web chat runs as a single-user trial on this machine (docs/WEB.md).
if [ -z "${MELDWIJZER_WEB_JWT_KEY:-}" ] && [ "$interface" = 127.0.0.1 ]; then export MELDWIJZER_WEB_ANONYMOUS=1; fi
mkdir -p var

.venv/bin/python -m actions.server --port "$ACTIONS_PORT" &
actions_pid=$!
.venv/bin/rasa run --model models/meldwijzer.tar.gz --endpoints endpoints.yml \
  --credentials credentials.yml --interface "$interface" --port "$RASA_PORT" &
rasa_pid=$!
trap 'kill $actions_pid $rasa_pid 2>/dev/null; wait 2>/dev/null; exit 0' INT TERM

for _ in $(seq 1 180); do
  if curl -fs "http://127.0.0.1:$RASA_PORT/" >/dev/null 2>&1; then break; fi
  if ! kill -0 $rasa_pid 2>/dev/null || ! kill -0 $actions_pid 2>/dev/null; then
    echo "A server stopped during start-up; see the output above." >&2; kill $actions_pid $rasa_pid 2>/dev/null; exit 1
  fi
  sleep 1
done
echo
echo "Meldwijzer is running."
echo "  Chat in the browser: http://127.0.0.1:$RASA_PORT/chat"
echo "  REST:                http://127.0.0.1:$RASA_PORT/webhooks/rest/webhook"
echo "Press Ctrl-C to stop."
wait -n $actions_pid $rasa_pid
kill $actions_pid $rasa_pid 2>/dev/null || true
