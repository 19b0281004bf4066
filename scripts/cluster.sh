#!/usr/bin/env bash
# Several Meldwijzer replicas on this machine, with real components (docs/DEPLOY.md, "Several servers"):
# nginx (Debian package) in front of 2 Rasa replicas, each with its own action server; a PostgreSQL
# server of the cluster's own (Debian's postgresql binaries, a fresh data directory) for the case store
# and the tracker store; Redis for the conversation locks. Every replica is started by the production
# runner (scripts/serve.sh); all ports on 127.0.0.1.
#
#   scripts/cluster.sh up            start everything (a fresh database), print the URLs
#   scripts/cluster.sh down          stop everything, drop the database
#   scripts/cluster.sh kill N        SIGKILL the Rasa server of replica N (1 or 2), as a crash would
#   scripts/cluster.sh start N       start replica N's Rasa server again and wait until it answers
#   scripts/cluster.sh redis-stop    stop the cluster's own Redis (fault test); redis-start: start it again
#   scripts/cluster.sh pg-stop       stop the cluster's own PostgreSQL at once, as a crash would (fault
#                                    test: "immediate" mode, recovered from its WAL); pg-start: start it
#   scripts/cluster.sh nginx-config DIR HTTPS_PORT HTTP_PORT RASA_PORT...
#                                    render deploy/nginx/meldwijzer.conf for these ports into DIR
#
# Settings (environment): CLUSTER_DIR (var/cluster), CLUSTER_PG_PORT (15432) and CLUSTER_REDIS_PORT
# (16379): the cluster starts its own PostgreSQL and redis-server there, so stopping one for a fault test
# touches nobody else's database or Redis,
# CLUSTER_HTTPS_PORT (8443), CLUSTER_HTTP_PORT (8080), CLUSTER_RASA_PORTS ("5105 5106"),
# CLUSTER_ACTIONS_PORTS ("5155 5156").
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
DIR="${CLUSTER_DIR:-$REPO/var/cluster}"
PG_PORT="${CLUSTER_PG_PORT:-15432}"
PG_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
PG_BIN="${CLUSTER_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"
REDIS_PORT="${CLUSTER_REDIS_PORT:-16379}"
REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
read -r -a RASA_PORTS <<< "${CLUSTER_RASA_PORTS:-5105 5106}"
read -r -a ACTIONS_PORTS <<< "${CLUSTER_ACTIONS_PORTS:-5155 5156}"
HTTPS_PORT="${CLUSTER_HTTPS_PORT:-8443}"
HTTP_PORT="${CLUSTER_HTTP_PORT:-8080}"
PY="$REPO/.venv/bin/python"
START_TIMEOUT_S=300

die() { echo "cluster: $*" >&2; exit 1; }

# The admin's edits of the site file, done by sed: ports, certificate and log paths, one upstream
# `server` line per replica. The tests render the same way through this command.
nginx_config() {
  local dir=$1 https=$2 http=$3; shift 3
  local servers="" port
  for port in "$@"; do servers+="server 127.0.0.1:$port max_fails=1 fail_timeout=10s;\\n    "; done
  mkdir -p "$dir"
  sed -e "s#server 127.0.0.1:5005 max_fails=1 fail_timeout=10s;#${servers%\\n    }#" \
      -e "s#/etc/ssl/meldwijzer/#$dir/#" -e "s#/var/log/nginx/#$dir/#" \
      -e "s#listen 443 ssl http2;#listen 127.0.0.1:$https ssl http2;#" -e "/listen \[::\]:443/d" \
      -e "s#listen 80;#listen 127.0.0.1:$http;#" -e "/listen \[::\]:80;/d" \
      deploy/nginx/meldwijzer.conf > "$dir/site.conf"
  cat > "$dir/nginx.conf" <<EOF
pid $dir/nginx.pid;
error_log $dir/nginx-error.log;
worker_processes 1;
events { worker_connections 1024; }
http {
  # No temporary files: the workers (user nobody when started as root) need no write access to DIR.
  client_body_buffer_size 128k;
  proxy_max_temp_file_size 0;
  client_body_temp_path $dir/nginx-body;
  proxy_temp_path $dir/nginx-proxy;
  include $dir/site.conf;
}
EOF
  [ -f "$dir/fullchain.pem" ] || openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj /CN=localhost \
      -keyout "$dir/privkey.pem" -out "$dir/fullchain.pem" >/dev/null 2>&1
}

wait_http() {  # URL PIDFILE LOG: until the URL answers below 500, or the process is gone
  local url=$1 pidfile=$2 log=$3
  for _ in $(seq 1 $START_TIMEOUT_S); do
    if curl -ks -o /dev/null -w '%{http_code}' "$url" 2>/dev/null | grep -q '^[1-4]'; then return 0; fi
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then tail -n 20 "$log" >&2; die "process for $url stopped"; fi
    sleep 1
  done
  die "$url did not answer within ${START_TIMEOUT_S}s"
}

spawn() {  # NAME LOG COMMAND...: in its own session (so `down` stops its children), pid in NAME.pid
  local name=$1 log=$2; shift 2
  setsid "$@" >>"$log" 2>&1 < /dev/null &
  echo $! > "$DIR/$name.pid"
}

start_rasa() {
  local n=$1 i=$(( $1 - 1 ))
  # shellcheck disable=SC1091
  ( set -a; . "$DIR/cluster.env"; set +a
    RASA_PORT=${RASA_PORTS[$i]} ACTIONS_PORT=${ACTIONS_PORTS[$i]} MELDWIJZER_RUNTIME_DIR="$DIR/run-$n" \
      spawn "rasa-$n" "$DIR/rasa-$n.log" scripts/serve.sh rasa )
}

start_actions() {
  local n=$1 i=$(( $1 - 1 ))
  ( set -a; . "$DIR/cluster.env"; set +a
    RASA_PORT=${RASA_PORTS[$i]} ACTIONS_PORT=${ACTIONS_PORTS[$i]} \
      spawn "actions-$n" "$DIR/actions-$n.log" scripts/serve.sh actions )
}

start_redis() {
  # Locks only: nothing to persist. Daemonised by setsid like the servers, pid in redis.pid.
  spawn redis "$DIR/redis.log" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no
  for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0; sleep 0.2; done
  die "redis-server did not start on port $REDIS_PORT"
}

# PostgreSQL refuses to run as root: as root, the server runs as the postgres user, in a data directory
# of its own under /tmp (the postgres user cannot enter root's temporary folders). Its path: pg.path.
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_data() { cat "$DIR/pg.path"; }

start_postgres() {
  [ -x "$PG_BIN/pg_ctl" ] || die "PostgreSQL's server binaries are needed (Debian package postgresql)"
  if [ ! -f "$DIR/pg.path" ]; then
    local data
    data=$(mktemp -d /tmp/meldwijzer-cluster-pg.XXXXXX)
    [ "$(id -u)" = 0 ] && chown postgres: "$data"
    as_postgres "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$DIR/pg-init.log" 2>&1 \
      || { cat "$DIR/pg-init.log" >&2; die "initdb failed"; }
    echo "$data" > "$DIR/pg.path"
  fi
  as_postgres "$PG_BIN/pg_ctl" -D "$(pg_data)" -l "$(pg_data)/server.log" -w -t 60 \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=on" start >/dev/null \
    || { tail -n 20 "$(pg_data)/server.log" >&2; die "PostgreSQL did not start on port $PG_PORT"; }
}

stop_postgres() {  # MODE: fast (down) or immediate (a crash, for the fault test)
  [ -f "$DIR/pg.path" ] || return 0
  as_postgres "$PG_BIN/pg_ctl" -D "$(pg_data)" -m "$1" -w -t 60 stop >/dev/null 2>&1 || true
}

drop_postgres() {  # stop the server and delete its data directory
  [ -f "$DIR/pg.path" ] || return 0
  stop_postgres fast
  rm -rf "$(pg_data)" "$DIR/pg.path"
}

stop_pidfile() {
  local pidfile=$1 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

up() {
  [ -f "$DIR/cluster.env" ] && die "already up ($DIR/cluster.env exists); run scripts/cluster.sh down first"
  [ -f models/meldwijzer.tar.gz ] || die "no trained model: run make train first"
  deploy/install-nginx.sh || die "nginx is needed (Debian package nginx-light)"
  command -v redis-server >/dev/null || die "redis-server is needed (Debian package redis-server)"
  mkdir -p "$DIR"
  drop_postgres  # what a failed earlier `up` left behind
  start_postgres
  start_redis
  local db=meldwijzer key id_key token jwt_key actions_token
  psql "$PG_URL" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db\"" >/dev/null
  key=$("$PY" -m bot keys generate)
  id_key=$("$PY" -m bot keys generate-id)
  token=$(openssl rand -hex 24)
  jwt_key=$(openssl rand -hex 32)
  actions_token=$(openssl rand -hex 24)
  local db_url="${PG_URL%/*}/$db"
  umask 077
  cat > "$DIR/cluster.env" <<EOF
MELDWIJZER_DB_URL=$db_url
MELDWIJZER_TRACKER_DB_URL=$db_url
MELDWIJZER_REDIS_URL=$REDIS_URL
MELDWIJZER_SECRET_KEY=$key
MELDWIJZER_ID_KEY=$id_key
MELDWIJZER_REST_CLIENTS=cluster:$token
MELDWIJZER_WEB_JWT_KEY=$jwt_key
MELDWIJZER_ACTIONS_TOKEN=$actions_token
MELDWIJZER_WEB_JWT_AUDIENCE=meldwijzer
MELDWIJZER_WEB_JWT_ISSUER=https://cluster.test
MELDWIJZER_WEB_ORIGINS=https://127.0.0.1:$HTTPS_PORT,https://localhost:$HTTPS_PORT
MELDWIJZER_PROFILE=national
# A crashed replica's conversation locks expire after this many seconds (Rasa's default: 60).
TICKET_LOCK_LIFETIME=20
CLUSTER_URL=https://127.0.0.1:$HTTPS_PORT
EOF
  umask 022
  local n
  for n in $(seq 1 ${#RASA_PORTS[@]}); do start_actions "$n"; done
  # All Rasa replicas at the same moment on the empty database: the migration lock makes one migrate.
  for n in $(seq 1 ${#RASA_PORTS[@]}); do start_rasa "$n"; done
  nginx_config "$DIR" "$HTTPS_PORT" "$HTTP_PORT" "${RASA_PORTS[@]}"
  nginx -p "$DIR" -c "$DIR/nginx.conf"
  for n in $(seq 1 ${#RASA_PORTS[@]}); do
    wait_http "http://127.0.0.1:${ACTIONS_PORTS[$((n - 1))]}/health" "$DIR/actions-$n.pid" "$DIR/actions-$n.log"
    wait_http "http://127.0.0.1:${RASA_PORTS[$((n - 1))]}/" "$DIR/rasa-$n.pid" "$DIR/rasa-$n.log"
  done
  echo "cluster up: https://127.0.0.1:$HTTPS_PORT (REST token and settings in $DIR/cluster.env)"
}

down() {
  [ -f "$DIR/nginx.pid" ] && { nginx -p "$DIR" -c "$DIR/nginx.conf" -s quit 2>/dev/null || true; rm -f "$DIR/nginx.pid"; }
  local pidfile
  for pidfile in "$DIR"/rasa-*.pid "$DIR"/actions-*.pid "$DIR"/redis.pid; do [ -e "$pidfile" ] && stop_pidfile "$pidfile"; done
  rm -f "$DIR/cluster.env"
  drop_postgres
  echo "cluster down (logs kept in $DIR)"
}

replica_number() {
  [[ "${1:-}" =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le ${#RASA_PORTS[@]} ] || die "replica number 1..${#RASA_PORTS[@]}"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  kill)
    replica_number "${2:-}"
    pid=$(cat "$DIR/rasa-$2.pid")
    kill -KILL "$pid"
    # SIGKILL is delivered at once, but tearing down a 2 GB process takes a moment, and until then its
    # socket still takes connections (which then break). Return when it is gone, so "killed" means so.
    # (A zombie counts as gone: its parent may not reap it. At most 10 s.)
    for _ in $(seq 1 200); do
      state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo gone)
      [ "$state" = gone ] || [ "$state" = Z ] && break
      sleep 0.05
    done
    rm -f "$DIR/rasa-$2.pid" ;;
  start)
    replica_number "${2:-}"
    start_rasa "$2"
    wait_http "http://127.0.0.1:${RASA_PORTS[$(($2 - 1))]}/" "$DIR/rasa-$2.pid" "$DIR/rasa-$2.log" ;;
  redis-stop) stop_pidfile "$DIR/redis.pid" ;;
  redis-start) start_redis ;;
  pg-stop) stop_postgres immediate ;;
  pg-start) start_postgres ;;
  nginx-config) shift; [ $# -ge 4 ] || die "nginx-config DIR HTTPS_PORT HTTP_PORT RASA_PORT..."; nginx_config "$@" ;;
  *) echo "usage: scripts/cluster.sh up|down|kill N|start N|redis-stop|redis-start|pg-stop|pg-start|nginx-config DIR HTTPS HTTP PORT..." >&2
     exit 64 ;;
esac
