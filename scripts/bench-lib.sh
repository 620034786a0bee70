# shellcheck shell=bash
# Shell functions shared by scripts/bench.sh and scripts/bench-large.sh;
# sourced, not run. Each script sets, before sourcing it:
#   DIR     where the servers' ready files, logs (DIR/log) and RSS samples go
#   TOP     where the binaries go (TOP/bin), unless CHEESESHOP_BIN and BENCHLOAD_BIN name them
#   PG, PGOPT, GO
# and gets BIN and BENCHLOAD binaries built (BIN, BL), the array pids of
# processes to stop (stop_pids), and the functions below.

mkdir -p "$TOP/bin" "$DIR/log"
BIN=${CHEESESHOP_BIN:-$TOP/bin/cheeseshop}
BL=${BENCHLOAD_BIN:-$TOP/bin/benchload}
[ -n "${CHEESESHOP_BIN:-}" ] || $GO build -o "$BIN" ./cmd/cheeseshop
[ -n "${BENCHLOAD_BIN:-}" ] || $GO build -o "$BL" ./cmd/benchload

pids=()
# stop_pids stops every process started in the background (pids).
stop_pids() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}

say() { printf '\n== %s (load %s)\n' "$*" "$(cut -d' ' -f1-3 /proc/loadavg)"; }
rss() { awk '/VmRSS/ {print $2/1024 " MB"}' "/proc/$1/status"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
dropdb() { psql "$PG/postgres" -qAtc "drop database if exists $1 with (force)" >/dev/null; }
# adduser DB DATA_DIR: the user bench, password bench.
adduser() { echo bench | "$BIN" user add bench --password-stdin --database-url "$PG/$1$PGOPT" --data-dir "$2" --log-level warn >/dev/null; }

# serve NAME PORT DATA_DIR DB: start cheeseshop (under SERVE_PIN, with the
# flags in SERVE_ARGS, if set), wait for its ready file; sets PID_<NAME>.
serve() {
  local name=$1 port=$2 data=$3 db=$4
  rm -f "$DIR/$name.ready"
  ${SERVE_PIN[@]+"${SERVE_PIN[@]}"} "$BIN" serve --listen "127.0.0.1:$port" --data-dir "$data" --database-url "$PG/$db$PGOPT" \
    --ready-file "$DIR/$name.ready" --log-format text --log-level warn ${SERVE_ARGS[@]+"${SERVE_ARGS[@]}"} >"$DIR/log/$name.log" 2>&1 &
  pids+=($!)
  eval "PID_$name=$!"
  for _ in $(seq 1 600); do [ -s "$DIR/$name.ready" ] && return 0; sleep 0.1; done
  echo "bench: $name did not start, see $DIR/log/$name.log" >&2; exit 1
}

# sample_rss PID: sample a server's RSS (KB) into $DIR/rss.max every 0.1 s until
# $DIR/rss.stop appears (bounded: 10 min). Only shell builtins run per sample:
# forking awk and sleep ten times a second cost the measured server ~20% of
# its throughput on this 2-CPU VM (the figures before run 4 in BENCHMARKS.md
# carry that cost for cheeseshop's rows).
sample_rss() {
  local max=0 k v i fifo="$DIR/rss.fifo.$1"
  rm -f "$fifo"; mkfifo "$fifo"
  exec 3<>"$fifo" # a read with a timeout on it is a sleep without a fork
  for ((i = 0; i < 6000; i++)); do
    while read -r k v _; do
      if [ "$k" = VmRSS: ]; then
        [ "$v" -gt "$max" ] && max=$v
        break
      fi
    done <"/proc/$1/status" || true
    [ -e "$DIR/rss.stop" ] && break
    read -r -t 0.1 -u 3 _ || true
  done
  exec 3<&-
  rm -f "$fifo"
  echo "$max" >"$DIR/rss.max"
}

# nginx_conf NGX WORKERS [MAIN [HTTP]]: an nginx.conf for the prefix NGX
# (which has logs/ and tmp/) that includes the generated NGX/cheeseshop.conf
# (`cheeseshop deploy nginx`), with access logs off, and the extra lines
# MAIN in the main context and HTTP in http.
nginx_conf() {
  local ngx=$1
  cat <<CONF
worker_processes $2;
${3:-}
pid $ngx/nginx.pid;
error_log $ngx/logs/error.log warn;
$( [ "$(id -u)" = 0 ] && echo "user root;" )
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
${4:-}
    client_body_temp_path $ngx/tmp/body;
    proxy_temp_path $ngx/tmp/proxy;
    fastcgi_temp_path $ngx/tmp/fastcgi;
    uwsgi_temp_path $ngx/tmp/uwsgi;
    scgi_temp_path $ngx/tmp/scgi;
    include $ngx/cheeseshop.conf;
}
CONF
}

# start_nginx NGX URL [PREFIX...]: run nginx (after the command PREFIX, such
# as taskset) with NGX/nginx.conf and wait until URL answers.
start_nginx() {
  local ngx=$1 probe=$2
  shift 2
  "$@" nginx -p "$ngx" -c "$ngx/nginx.conf" -g 'daemon off;' &
  pids+=($!)
  for _ in $(seq 1 50); do curl -fsS -o /dev/null "$probe" 2>/dev/null && break; sleep 0.1; done
}
