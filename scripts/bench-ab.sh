#!/usr/bin/env bash
# `make bench-ab OLD=path/to/old/cheeseshop`: two builds of cheeseshop side by
# side in one run, for a change that must not cost speed. For each build:
#   - upload latency (benchload upload, 1 client) on an empty index, the two
#     builds alternating over BENCH_AB_ROUNDS rounds;
#   - requests per second of /simple/bench-10/ (HTML and JSON) against net/http's
#     FileServer over the same data directory, in pairs, alternating order.
# Both builds serve the same seeded index (seeded by NEW). Everything listens on
# 127.0.0.1; with 2 or more CPUs the measured server runs on CPU 1, wrk on CPU 0.
#
#   OLD, NEW                 the two binaries (NEW defaults to a build of this tree)
#   BENCH_AB_ROUNDS=3        rounds of each measurement
#   BENCH_AB_UPLOADS=300     uploads per round (bounded by 30 s)
#   BENCH_WRK_DURATION=5s    each wrk run
#   BENCH_DIR=/tmp/cheeseshop-ab, BENCH_PG=postgres://postgres@127.0.0.1:5432
set -euo pipefail
cd "$(dirname "$0")/.."

OLD=${OLD:?set OLD to the binary to compare against}
DIR=${BENCH_DIR:-/tmp/cheeseshop-ab}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
PGOPT='?sslmode=disable'
ROUNDS=${BENCH_AB_ROUNDS:-3}
UPLOADS=${BENCH_AB_UPLOADS:-300}
DUR=${BENCH_WRK_DURATION:-5s}
GO=${GO:-go}
JSON_ACCEPT='application/vnd.pypi.simple.v1+json'
SRV_PIN=() WRK_PIN=()
if [ "$(nproc)" -ge 2 ]; then SRV_PIN=(taskset -c 1) WRK_PIN=(taskset -c 0); fi

mkdir -p "$DIR/bin" "$DIR/log"
if [ -z "${NEW:-}" ]; then
  NEW=$DIR/bin/cheeseshop-new
  $GO build -o "$NEW" ./cmd/cheeseshop
fi
BL=$DIR/bin/benchload
$GO build -o "$BL" ./cmd/benchload

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
dropdb() { psql "$PG/postgres" -qAtc "drop database if exists $1 with (force)" >/dev/null; }

# serve BIN PORT DATA DB: start a server and wait until it is ready; sets SRV.
serve() {
  rm -f "$DIR/ready"
  "${SRV_PIN[@]}" "$1" serve --listen "127.0.0.1:$2" --data-dir "$3" --database-url "$PG/$4$PGOPT" \
    --ready-file "$DIR/ready" --log-format text --log-level warn --sweep-delay 24h >>"$DIR/log/serve.log" 2>&1 &
  SRV=$!
  pids+=($SRV)
  for _ in $(seq 1 300); do [ -s "$DIR/ready" ] && return 0; sleep 0.1; done
  echo "bench-ab: server did not start, see $DIR/log/serve.log" >&2
  exit 1
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# alternate FN: for each of the ROUNDS rounds, runs FN ROUND WHICH BIN for
# both builds (WHICH is old or new), in an order that alternates by round.
alternate() {
  local r which bin order
  for r in $(seq 1 "$ROUNDS"); do
    order=(old new)
    [ $((r % 2)) = 0 ] && order=(new old)
    for which in "${order[@]}"; do
      bin=$OLD
      [ "$which" = new ] && bin=$NEW
      "$1" "$r" "$which" "$bin"
    done
  done
}

printf 'machine: %s, %s CPUs; date %s; commit %s\n' "$(uname -r)" "$(nproc)" "$(date -u +%FT%TZ)" "$(git rev-parse --short HEAD)"
printf 'old: %s\nnew: %s\n' "$OLD" "$NEW"

declare -A UP
upload_round() { # ROUND WHICH BIN
  local r=$1 which=$2 bin=$3 db=cheeseshop_ab_up out
  dropdb $db
  rm -rf "$DIR/up"
  "$bin" migrate --create-database --database-url "$PG/$db$PGOPT" --log-level warn >/dev/null
  echo ab | "$bin" user add ab --password-stdin --database-url "$PG/$db$PGOPT" --data-dir "$DIR/up" --log-level warn >/dev/null
  serve "$bin" 18090 "$DIR/up" $db
  out=$("$BL" upload -url http://127.0.0.1:18090/legacy/ -user ab -password ab -clients 1 -count "$UPLOADS" -duration 30s -prefix "ab$r$which")
  stop "$SRV"
  echo "round $r $which upload: $out"
  UP[$which]+="$(grep -o 'p50=[0-9.]*' <<<"$out" | head -1 | cut -d= -f2) "
}
alternate upload_round

db=cheeseshop_ab_small
dropdb $db
rm -rf "$DIR/small"
"$NEW" migrate --create-database --database-url "$PG/$db$PGOPT" --log-level warn >/dev/null
"$NEW" dev seed --projects 1000 --database-url "$PG/$db$PGOPT" --data-dir "$DIR/small" --log-level warn >/dev/null
"${SRV_PIN[@]}" "$BL" fileserver -listen 127.0.0.1:18091 -dir "$DIR/small" &
pids+=($!)
rps() { # URL [ACCEPT]
  local out
  if [ -n "${2:-}" ]; then out=$("${WRK_PIN[@]}" wrk -t1 -c32 -d"$DUR" -H "Accept: $2" "$1")
  else out=$("${WRK_PIN[@]}" wrk -t1 -c32 -d"$DUR" "$1"); fi
  if grep -q 'Non-2xx' <<<"$out"; then echo "bench-ab: non-2xx answers from $1" >&2; exit 1; fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}
declare -A RATIO
pages_round() { # ROUND WHICH BIN
  local r=$1 which=$2 bin=$3 h fh j fj line
  serve "$bin" 18090 "$DIR/small" $db
  h=$(rps http://127.0.0.1:18090/simple/bench-10/)
  fh=$(rps http://127.0.0.1:18091/simple/bench-10/)
  j=$(rps http://127.0.0.1:18090/simple/bench-10/ "$JSON_ACCEPT")
  fj=$(rps http://127.0.0.1:18091/simple/bench-10/index.v1_json "$JSON_ACCEPT")
  stop "$SRV"
  line=$(awk -v h="$h" -v fh="$fh" -v j="$j" -v fj="$fj" 'BEGIN { printf "%.3f %.3f", h/fh, j/fj }')
  echo "round $r $which: html $h req/s (FileServer $fh), json $j req/s (FileServer $fj); ratios $line"
  RATIO[$which]+="$line;"
}
alternate pages_round

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
printf '%-5s %16s %22s %22s\n' build "upload p50 (ms)" "html / FileServer" "json / FileServer"
for which in old new; do
  html=$(tr ';' '\n' <<<"${RATIO[$which]}" | awk 'NF {print $1}' | median)
  json=$(tr ';' '\n' <<<"${RATIO[$which]}" | awk 'NF {print $2}' | median)
  printf '%-5s %16s %22s %22s\n' "$which" "$(median <<<"${UP[$which]}")" "$html" "$json"
done
echo "(medians over $ROUNDS rounds)"
