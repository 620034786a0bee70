#!/usr/bin/env bash
# `make bench`: the figures in BENCHMARKS.md. Everything listens on 127.0.0.1
# only, every loop is bounded by a count and a time.
#
#   BENCH_PROJECTS=100000   size of the large index (PyPI: 700000, see BENCHMARKS.md)
#   BENCH_SMALL=1000        size of the small index for the GET latency comparison
#   BENCH_DIR=/tmp/cheeseshop-bench   databases' data dirs, logs, nginx prefix
#   BENCH_WRK_DURATION=10s BENCH_WRK_THREADS=1 BENCH_WRK_CONNS=32
#   BENCH_PIN=1             wrk on CPU 0, the server it measures alone on CPU 1
#                           (one nginx worker, GOMAXPROCS 1); 0: all share every CPU
#   BENCH_UPLOADS=200       measured uploads per client (also bounded by 30 s)
#   BENCH_GO_TEST=1         run `go test -bench` over every package first (0 skips)
#   BENCH_SKIP_SEED=1       reuse the large index from a previous run
#   BENCH_WRK_ONLY=1        with BENCH_SKIP_SEED=1: only the wrk comparison (BENCH_REPEAT=N runs it N times)
#   BENCH_COLD_REGEN=1      also time regenerate --all with the page cache dropped (default where writable: root)
#   BENCH_FLOOD=1           measure a wrong-password flood (issue 14 item 7; 0 skips); BENCH_FLOOD_ONLY=1: only that
#   BENCH_FLOOD_CLIENTS=200 BENCH_FLOOD_DURATION=30s
#   BENCH_LARGE=1           1 GiB upload and download, binary and nginx (uploads also to a receiver of the upload's own parts), beside the disk's and
#                           digests' limits (scripts/bench-large.sh; 0 skips); BENCH_LARGE_ONLY=1: only that
#   CHEESESHOP_BIN, BENCHLOAD_BIN   prebuilt binaries (default: built here)
#   BENCH_PG=postgres://postgres@127.0.0.1:5432   the PostgreSQL server
#   BENCH_PGOPT=?sslmode=disable   appended to every database URL
#   BENCH_DB=cheeseshop_bench_large   database of the large index (dropped and re-created)
set -euo pipefail
cd "$(dirname "$0")/.."

PROJECTS=${BENCH_PROJECTS:-100000}
SMALL=${BENCH_SMALL:-1000}
DIR=${BENCH_DIR:-/tmp/cheeseshop-bench}
DUR=${BENCH_WRK_DURATION:-10s}
# Pinned, each server gets one whole CPU and wrk the other, so a figure is
# what one core of that server does: unpinned, the figures on 2 cores swing
# by ±15% between identical runs with how the scheduler places wrk's and the
# server's threads (nginx's two workers even split the connections unevenly).
PIN=${BENCH_PIN:-$([ "$(nproc)" -ge 2 ] && echo 1 || echo 0)}
SRV_PIN=() WRK_PIN=()
if [ "$PIN" = 1 ]; then SRV_PIN=(taskset -c 1) WRK_PIN=(taskset -c 0); fi
THREADS=${BENCH_WRK_THREADS:-$([ "$PIN" = 1 ] && echo 1 || echo 2)}
CONNS=${BENCH_WRK_CONNS:-32}
UPLOADS=${BENCH_UPLOADS:-200}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
# Loopback needs no TLS; without this libpq's default (prefer) encrypts every
# round trip, which costs the server and PostgreSQL ~15% of an upload's CPU.
PGOPT=${BENCH_PGOPT:-?sslmode=disable}
GO=${GO:-go}
JSON_ACCEPT='application/vnd.pypi.simple.v1+json'
P_CS=18080 P_FS=18081 P_NGX=18082 P_NGXPLAIN=18083 P_EMPTY=18084

TOP=$DIR
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
trap stop_pids EXIT

# Go's own benchmarks: a smoke run of every package (CI runs them once), and
# the page and root rewrite figures from internal/staticgen.
if [ "${BENCH_GO_TEST:-1}" = 1 ]; then
  say "go test -bench (all packages, smoke)"
  $GO test -run '^$' -bench . -benchmem ./...
fi

# serve's background sweep of the data directory (which walks every page
# directory and package file) is put off by a day, so it never runs during a
# measurement; the sweep is measured on its own below.
SERVE_ARGS=(--sweep-delay 24h)
upload() { # PORT CLIENTS PREFIX
  "$BL" upload -url "http://127.0.0.1:$1/legacy/" -user bench -password bench -clients "$2" -count "$UPLOADS" -duration 30s -prefix "$3"
}
WRK_ONLY=${BENCH_WRK_ONLY:-0}

# ---- a wrong-password flood on an empty index ----
# Issue 14 item 7: 200 clients send wrong passwords for a real user, each as
# fast as it is answered, for 30 s, while one client uploads with an API
# token. Targets: server RSS peak <= 150 MB, token-upload p99 <= 100 ms.
if [ "${BENCH_FLOOD:-1}" = 1 ] && [ "$WRK_ONLY" != 1 ] && [ "${BENCH_LARGE_ONLY:-0}" != 1 ]; then
  FLOOD_CLIENTS=${BENCH_FLOOD_CLIENTS:-200}
  FLOOD_DURATION=${BENCH_FLOOD_DURATION:-30s}
  say "wrong-password flood: $FLOOD_CLIENTS clients for $FLOOD_DURATION, token uploads meanwhile"
  dropdb cheeseshop_bench_flood
  rm -rf "$DIR/flood"
  "$BIN" migrate --create-database --database-url "$PG/cheeseshop_bench_flood$PGOPT" --log-level warn
  adduser cheeseshop_bench_flood "$DIR/flood"
  token=$("$BIN" token create bench --database-url "$PG/cheeseshop_bench_flood$PGOPT" --data-dir "$DIR/flood" --log-level warn 2>/dev/null)
  serve flood $P_EMPTY "$DIR/flood" cheeseshop_bench_flood
  say "server RSS idle after start: $(rss "$PID_flood")"
  rm -f "$DIR/rss.stop"; sample_rss "$PID_flood" & sp=$!
  "$BL" flood -url "http://127.0.0.1:$P_EMPTY/legacy/" -user bench -token "$token" -clients "$FLOOD_CLIENTS" -duration "$FLOOD_DURATION" -prefix "fl$(date +%s)"
  touch "$DIR/rss.stop"; wait $sp
  say "server RSS peak during the flood: $(( $(cat "$DIR/rss.max") / 1024 )) MB (target <= 150 MB); idle after it: $(rss "$PID_flood")"
  kill "$PID_flood"; wait "$PID_flood" 2>/dev/null || true
  [ "${BENCH_FLOOD_ONLY:-0}" != 1 ] || exit 0
fi

# ---- large files (issue 20): scripts/bench-large.sh ----
if [ "${BENCH_LARGE:-1}" = 1 ] && [ "$WRK_ONLY" != 1 ]; then
  CHEESESHOP_BIN=$BIN BENCHLOAD_BIN=$BL BENCH_DIR=$DIR BENCH_PG=$PG BENCH_PGOPT=$PGOPT scripts/bench-large.sh
  [ "${BENCH_LARGE_ONLY:-0}" != 1 ] || exit 0
fi

if [ "$WRK_ONLY" != 1 ]; then
# ---- upload latency on an empty index ----
say "upload latency, empty index"
dropdb cheeseshop_bench_empty
rm -rf "$DIR/empty"
"$BIN" migrate --create-database --database-url "$PG/cheeseshop_bench_empty$PGOPT" --log-level warn
adduser cheeseshop_bench_empty "$DIR/empty"
serve empty $P_EMPTY "$DIR/empty" cheeseshop_bench_empty
upload $P_EMPTY 1 e1
upload $P_EMPTY 8 e8
kill "$PID_empty"; wait "$PID_empty" 2>/dev/null || true

# ---- GET latency on a small index ----
say "GET latency, $SMALL-project index"
dropdb cheeseshop_bench_small
rm -rf "$DIR/small"
"$BIN" migrate --create-database --database-url "$PG/cheeseshop_bench_small$PGOPT" --log-level warn
"$BIN" dev seed --projects "$SMALL" --database-url "$PG/cheeseshop_bench_small$PGOPT" --data-dir "$DIR/small" --log-level warn
serve small $P_EMPTY "$DIR/small" cheeseshop_bench_small
"$BL" get -url "http://127.0.0.1:$P_EMPTY/simple/bench-10/" -count 5000 -duration 10s
"$BL" get -url "http://127.0.0.1:$P_EMPTY/simple/bench-10/" -accept "$JSON_ACCEPT" -count 5000 -duration 10s
kill "$PID_small"; wait "$PID_small" 2>/dev/null || true
fi

# ---- the large index ----
DATA=$DIR/large
DB=${BENCH_DB:-cheeseshop_bench_large}
if [ "${BENCH_SKIP_SEED:-0}" != 1 ]; then
  say "seed $PROJECTS projects"
  dropdb $DB
  rm -rf "$DATA"
  "$BIN" migrate --create-database --database-url "$PG/$DB$PGOPT" --log-level warn
  /usr/bin/time -f 'seed: %e s wall, max RSS %M KB' \
    "$BIN" dev seed --projects "$PROJECTS" --database-url "$PG/$DB$PGOPT" --data-dir "$DATA" --log-level warn
fi
psql "$PG/$DB" -qAtc "select 'index: ' || (select count(*) from projects) || ' projects, ' || (select count(*) from files) || ' files'"
du -sh "$DATA/simple/index.html" "$DATA/simple" 2>/dev/null | sed 's/^/size: /'

if [ "$WRK_ONLY" != 1 ]; then
say "page and root rewrite time, $PROJECTS-project index"
"$BL" regen -database-url "$PG/$DB$PGOPT" -data-dir "$DATA" -count 20 -root-count 5 bench-10 bench-1000 bench-10000

if "$BIN" regenerate --help >/dev/null 2>&1; then
  # Cold (BENCH_COLD_REGEN=1, the default where the page cache can be
  # dropped, i.e. as root): a rebuild after a reboot reads every
  # page from disk. Warm: the same again right after, every page cached.
  # A container may show the file writable and still refuse the write.
  if [ "${BENCH_COLD_REGEN:-$([ -w /proc/sys/vm/drop_caches ] && echo 1 || echo 0)}" = 1 ] &&
    { sync; echo 3 2>/dev/null >/proc/sys/vm/drop_caches; }; then
    say "regenerate --all, $PROJECTS-project index, page cache dropped"
    /usr/bin/time -f 'regenerate --all (cold): %e s wall, %U s user, %S s sys, max RSS %M KB' \
      "$BIN" regenerate --all --database-url "$PG/$DB$PGOPT" --data-dir "$DATA" --log-level warn
  fi
  say "regenerate --all, $PROJECTS-project index"
  /usr/bin/time -f 'regenerate --all: %e s wall, %U s user, %S s sys, max RSS %M KB' \
    "$BIN" regenerate --all --database-url "$PG/$DB$PGOPT" --data-dir "$DATA" --log-level warn
else
  say "regenerate --all: no such command in this build, skipped"
fi
fi

adduser $DB "$DATA" 2>/dev/null || true # already there on a reused index
serve large $P_CS "$DATA" $DB
say "server RSS idle after start: $(rss "$PID_large")"

if [ "$WRK_ONLY" != 1 ]; then
say "GET latency, $PROJECTS-project index"
"$BL" get -url "http://127.0.0.1:$P_CS/simple/bench-10/" -count 5000 -duration 10s
"$BL" get -url "http://127.0.0.1:$P_CS/simple/bench-10/" -accept "$JSON_ACCEPT" -count 5000 -duration 10s

say "upload latency, $PROJECTS-project index"
# Every client's first upload creates a project, so the root index (every
# project) is rewritten meanwhile: the peak RSS covers that.
rm -f "$DIR/rss.stop"; sample_rss "$PID_large" & sp=$!
upload $P_CS 1 "l1$(date +%s)"
upload $P_CS 8 "l8$(date +%s)"
touch "$DIR/rss.stop"; wait $sp
say "server RSS peak during the uploads: $(( $(cat "$DIR/rss.max") / 1024 )) MB; idle after them: $(rss "$PID_large")"
fi

if [ "$WRK_ONLY" != 1 ]; then
say "background sweep of the data directory, $PROJECTS-project index"
# A server whose first sweep starts after 1 s; the sweep logs its time at
# debug level (nothing to repair) when it is done.
kill "$PID_large"; wait "$PID_large" 2>/dev/null || true
SERVE_ARGS=(--sweep-delay 1s --log-level debug)
serve sweep $P_CS "$DATA" $DB
SERVE_ARGS=(--sweep-delay 24h)
rm -f "$DIR/rss.stop"; sample_rss "$PID_sweep" & sp=$!
for _ in $(seq 1 900); do
  grep -q 'msg="sweep (' "$DIR/log/sweep.log" && break
  kill -0 "$PID_sweep" 2>/dev/null || { echo "bench: the server exited during the sweep, see $DIR/log/sweep.log" >&2; break; }
  sleep 1
done
touch "$DIR/rss.stop"; wait $sp
grep 'msg="sweep (' "$DIR/log/sweep.log" | cut -d' ' -f3- || echo "bench: the sweep did not finish in 15 min" >&2
say "server RSS peak during the sweep: $(( $(cat "$DIR/rss.max") / 1024 )) MB; after it: $(rss "$PID_sweep")"
kill "$PID_sweep"; wait "$PID_sweep" 2>/dev/null || true
[ "$PIN" = 1 ] || serve large $P_CS "$DATA" $DB
fi

# ---- requests per second: cheeseshop, FileServer, nginx x2 ----
if [ "$PIN" = 1 ]; then
  # The same server, on the same data, started again on CPU 1 alone.
  kill "$PID_large" 2>/dev/null || true; wait "$PID_large" 2>/dev/null || true
  SERVE_PIN=("${SRV_PIN[@]}")
  serve large $P_CS "$DATA" $DB
  SERVE_PIN=()
fi
${SRV_PIN[@]+"${SRV_PIN[@]}"} "$BL" fileserver -listen "127.0.0.1:$P_FS" -dir "$DATA" &
pids+=($!)

NGX=$DIR/nginx
mkdir -p "$NGX/logs" "$NGX/tmp"
"$BIN" deploy nginx --listen "127.0.0.1:$P_NGX" --upstream "127.0.0.1:$P_CS" --data-dir "$DATA" \
  --server-name localhost >"$NGX/cheeseshop.conf"
# One nginx process, two servers: the generated config and a plain static
# root. Access logs off for both (the figures are the serving path, not the
# log disk); one worker per CPU it may use.
# As docs/deploy.md recommends (main context, so not in the generated file):
# the Accept map's expression is compiled to machine code.
nginx_conf "$NGX" "$([ "$PIN" = 1 ] && echo 1 || echo auto)" 'pcre_jit on;' "    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$P_NGXPLAIN;
        root $DATA;
    }" >"$NGX/nginx.conf"
start_nginx "$NGX" "http://127.0.0.1:$P_NGXPLAIN/simple/bench-10/" ${SRV_PIN[@]+"${SRV_PIN[@]}"}

PAGE=bench-10
# Check that every server answers the same bytes before timing them.
for u in "$P_CS/simple/$PAGE/" "$P_FS/simple/$PAGE/" "$P_NGX/simple/$PAGE/" "$P_NGXPLAIN/simple/$PAGE/"; do
  printf 'check %-40s %s bytes\n' "$u" "$(curl -fsS "http://127.0.0.1:$u" | wc -c)"
done

rps() { # URL [ACCEPT]
  local out
  if [ -n "${2:-}" ]; then
    out=$(${WRK_PIN[@]+"${WRK_PIN[@]}"} wrk -t"$THREADS" -c"$CONNS" -d"$DUR" -H "Accept: $2" "$1")
  else
    out=$(${WRK_PIN[@]+"${WRK_PIN[@]}"} wrk -t"$THREADS" -c"$CONNS" -d"$DUR" "$1")
  fi
  if grep -q 'Non-2xx' <<<"$out"; then echo "bench: non-2xx answers from $1" >&2; echo "$out" >&2; exit 1; fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}
declare -A R
declare -a RATIOS=() # one line per round: cs/fs html, json; ngx/plain html, json
peak=0
round=0
# pair A_KEY A_URL B_KEY B_URL [ACCEPT]: wrk on two servers back to back,
# first A in odd rounds and B in even ones, so a drift of the machine's speed
# over a round does not favour either side of a ratio.
pair() {
  local first=$1 furl=$2 second=$3 surl=$4 accept=${5:-}
  if [ $((round % 2)) = 0 ]; then
    first=$3 furl=$4 second=$1 surl=$2
  fi
  R[$first]=$(rps "$furl" "$accept")
  R[$second]=$(rps "$surl" "$accept")
}
compare() {
  round=$((round + 1))
  say "round $round: wrk -t$THREADS -c$CONNS -d$DUR /simple/$PAGE/ on the $PROJECTS-project index$([ "$PIN" = 1 ] && echo ", wrk on CPU 0, servers on CPU 1")"
  rm -f "$DIR/rss.stop"; sample_rss "$PID_large" & local sp=$!
  # Every JSON request carries the same Accept header, so each server parses
  # the same request; FileServer and plain nginx take the file by its name.
  pair cs_html "http://127.0.0.1:$P_CS/simple/$PAGE/" fs_html "http://127.0.0.1:$P_FS/simple/$PAGE/"
  pair cs_json "http://127.0.0.1:$P_CS/simple/$PAGE/" fs_json "http://127.0.0.1:$P_FS/simple/$PAGE/index.v1_json" "$JSON_ACCEPT"
  touch "$DIR/rss.stop"; wait $sp
  peak=$(( $(cat "$DIR/rss.max") / 1024 ))
  pair ngx_html "http://127.0.0.1:$P_NGX/simple/$PAGE/" plain_html "http://127.0.0.1:$P_NGXPLAIN/simple/$PAGE/index.html"
  pair ngx_json "http://127.0.0.1:$P_NGX/simple/$PAGE/" plain_json "http://127.0.0.1:$P_NGXPLAIN/simple/$PAGE/index.v1_json" "$JSON_ACCEPT"
  printf '%-34s %12s %12s\n' server "html req/s" "json req/s"
  printf '%-34s %12s %12s\n' "cheeseshop" "${R[cs_html]}" "${R[cs_json]}"
  printf '%-34s %12s %12s\n' "net/http FileServer" "${R[fs_html]}" "${R[fs_json]}"
  printf '%-34s %12s %12s\n' "nginx, cheeseshop deploy nginx" "${R[ngx_html]}" "${R[ngx_json]}"
  printf '%-34s %12s %12s\n' "nginx, plain file" "${R[plain_html]}" "${R[plain_json]}"
  for k in html json; do
    awk -v cs="${R[cs_$k]}" -v fs="${R[fs_$k]}" -v ng="${R[ngx_$k]}" -v pl="${R[plain_$k]}" -v k=$k 'BEGIN {
      printf "%s ratios: cheeseshop/FileServer %.2f (target >= 1.0)  nginx-generated/nginx-plain %.2f (target >= 0.95)  cheeseshop/nginx-plain %.2f  FileServer/nginx-plain %.2f\n",
        k, cs/fs, ng/pl, cs/pl, fs/pl }'
  done
  RATIOS+=("$(awk -v a="${R[cs_html]}" -v b="${R[fs_html]}" -v c="${R[cs_json]}" -v d="${R[fs_json]}" \
    -v e="${R[ngx_html]}" -v f="${R[plain_html]}" -v g="${R[ngx_json]}" -v h="${R[plain_json]}" \
    'BEGIN { printf "%.3f %.3f %.3f %.3f", a/b, c/d, e/f, g/h }')")
  echo "server RSS peak under load: $peak MB"
}
compare
if [ "${BENCH_REPEAT:-1}" -gt 1 ]; then
  for _ in $(seq 2 "${BENCH_REPEAT}"); do compare; done
  # The median of each ratio over the rounds: on a VM one round can be off
  # by 10% or more, a median of five is not.
  say "ratios over $round rounds: median (lowest-highest)"
  printf '%s\n' "${RATIOS[@]}" | awk '
    { for (i = 1; i <= 4; i++) v[i, NR] = $i }
    END {
      split("cheeseshop/FileServer html (>= 1.0),cheeseshop/FileServer json (>= 1.0),nginx-generated/plain html (>= 0.95),nginx-generated/plain json (>= 0.95)", name, ",")
      for (i = 1; i <= 4; i++) {
        for (j = 1; j <= NR; j++) a[j] = v[i, j]
        for (j = 2; j <= NR; j++) { x = a[j]; for (k = j - 1; k >= 1 && a[k] > x; k--) a[k + 1] = a[k]; a[k + 1] = x }
        med = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        printf "%-42s %.2f (%.2f-%.2f)\n", name[i], med, a[1], a[NR]
      }
    }'
fi
say "server RSS after load: $(rss "$PID_large")"
