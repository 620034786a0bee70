#!/usr/bin/env bash
# Large files (issue 20): a 1 GiB wheel uploaded to the binary and through the
# generated nginx, and downloaded from each, beside the physical limits of the
# same bytes measured in the same run (write+fsync, each digest alone, the
# digests' CPU time over the cores), with the server's RSS above idle during
# each. scripts/bench.sh runs it (BENCH_LARGE=1, the default); it also runs
# alone. Not in CI: it writes and reads several GiB.
#
#   BENCH_LARGE_SIZE=1073741824   bytes of each wheel
#   BENCH_LARGE_ROUNDS=5          download rounds (binary and nginx, first one then the other; the best of each is compared)
#   BENCH_DIR, BENCH_PG, BENCH_PGOPT, CHEESESHOP_BIN, BENCHLOAD_BIN: as for bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=${BENCH_LARGE_SIZE:-1073741824}
ROUNDS=${BENCH_LARGE_ROUNDS:-5}
TOP=${BENCH_DIR:-/tmp/cheeseshop-bench}
DIR=$TOP/large
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
PGOPT=${BENCH_PGOPT:-?sslmode=disable}
GO=${GO:-go}
DB=cheeseshop_bench_bigfiles
P_CS=18090 P_NGX=18091

# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
cleanup() {
  stop_pids
  rm -rf "$DIR/data" "$DIR"/*.whl
}
trap cleanup EXIT

# cpu_ticks PID: the process's user+system time so far, in clock ticks. On a
# machine shared with other work, the server's CPU time per upload is the
# figure the load does not inflate.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICKS=$(getconf CLK_TCK)
start_rss() { rm -f "$DIR/rss.stop"; sample_rss "$PID_cs" & SAMPLER=$!; CPU0=$(cpu_ticks "$PID_cs"); }
# stop_rss sets RSS_MB to the peak above idle (not in a $(...) subshell,
# which cannot wait for the sampler).
stop_rss() {
  CPU_S=$(awk -v a="$CPU0" -v b="$(cpu_ticks "$PID_cs")" -v t="$TICKS" 'BEGIN { printf "%.2f", (b - a) / t }')
  touch "$DIR/rss.stop"; wait "$SAMPLER"; RSS_MB=$(( ($(cat "$DIR/rss.max") - IDLE_KB) / 1024 ))
}

DATA=$DIR/data
rm -rf "$DATA"; mkdir -p "$DATA"
dropdb $DB
"$BIN" migrate --create-database --database-url "$PG/$DB$PGOPT" --log-level warn
adduser $DB "$DATA"

say "large files: two $((SIZE >> 20)) MiB wheels"
W_BIN=$DIR/big_bin-1.0-py3-none-any.whl W_NGX=$DIR/big_ngx-1.0-py3-none-any.whl
"$BL" bigwheel -out "$W_BIN" -name big_bin -version 1.0 -size "$SIZE"
"$BL" bigwheel -out "$W_NGX" -name big_ngx -version 1.0 -size "$SIZE"
BYTES=$(stat -c %s "$W_BIN")

say "physical limits of the same bytes ($(nproc) cores)"
LIMITS=$("$BL" limits -file "$W_BIN" -dir "$DATA")
grep -v digest-seconds <<<"$LIMITS"
LIMIT=$(awk '/digest-seconds/ {print $3}' <<<"$LIMITS")

MAXFILE=$((SIZE + (64 << 20)))
SERVE_ARGS=(--max-file-size "$MAXFILE" --sweep-delay 24h)
serve cs $P_CS "$DATA" $DB

NGX=$DIR/nginx
mkdir -p "$NGX/logs" "$NGX/tmp"
"$BIN" deploy nginx --listen "127.0.0.1:$P_NGX" --upstream "127.0.0.1:$P_CS" --data-dir "$DATA" \
  --server-name localhost --max-file-size "$MAXFILE" >"$NGX/cheeseshop.conf"
nginx_conf "$NGX" auto >"$NGX/nginx.conf"
start_nginx "$NGX" "http://127.0.0.1:$P_NGX/simple/"

sleep 1
IDLE_KB=$(rss_kb "$PID_cs")
say "server RSS idle: $((IDLE_KB / 1024)) MB"

# upload PORT WHEEL NAME: one upload with curl, as twine sends it (fields,
# then the file); prints seconds, and the server's RSS peak above idle.
upload() {
  local sha out mb
  sha=$(sha256sum "$2" | cut -d' ' -f1)
  start_rss
  out=$(curl -sS -o "$DIR/upload.body" -w '%{http_code} %{time_total}' -u bench:bench \
    -F ':action=file_upload' -F protocol_version=1 -F metadata_version=2.1 -F "name=$3" -F version=1.0 \
    -F filetype=bdist_wheel -F pyversion=py3 -F "sha256_digest=$sha" \
    -F "content=@$2;type=application/octet-stream" "http://127.0.0.1:$1/legacy/")
  stop_rss
  mb=$RSS_MB
  if [ "${out%% *}" != 200 ]; then echo "bench: upload to $1 answered $out: $(cat "$DIR/upload.body")" >&2; exit 1; fi
  echo "${out#* } $mb $CPU_S"
}
say "upload of $((BYTES >> 20)) MiB"
upload $P_CS "$W_BIN" big_bin >"$DIR/up.cs"
upload $P_NGX "$W_NGX" big_ngx >"$DIR/up.ngx"
read -r UP_CS RSS_UP_CS CPU_UP_CS <"$DIR/up.cs"
read -r UP_NGX RSS_UP_NGX CPU_UP_NGX <"$DIR/up.ngx"
awk -v t="$UP_CS" -v l="$LIMIT" -v b="$BYTES" -v r="$RSS_UP_CS" -v c="$CPU_UP_CS" 'BEGIN { printf "upload to the binary      %6.2f s  %7.0f MB/s  %.2fx the digest limit (target <= 1.6)  RSS +%d MB (target <= 64)  server cpu %.2f s\n", t, b/1048576/t, t/l, r, c }'
awk -v t="$UP_NGX" -v l="$LIMIT" -v b="$BYTES" -v r="$RSS_UP_NGX" -v c="$CPU_UP_NGX" 'BEGIN { printf "upload through nginx      %6.2f s  %7.0f MB/s  %.2fx the digest limit (target <= 1.9)  RSS +%d MB (target <= 64)  server cpu %.2f s\n", t, b/1048576/t, t/l, r, c }'
leftover=$(find "$NGX/tmp/body" -type f 2>/dev/null | wc -l)
echo "nginx client-body temp files left: $leftover"

HREF=$(curl -fsS "http://127.0.0.1:$P_CS/simple/big-bin/" | grep -o 'href="[^"#]*' | head -1 | cut -d'"' -f2)
HREF=${HREF#../..}
# The uploads left up to 2 GiB of dirty pages: the kernel writes them back
# for several seconds, which would slow whichever download runs meanwhile.
sync
say "download of $((BYTES >> 20)) MiB ($HREF), $ROUNDS rounds"
best_cs=999999 best_ngx=999999 rss_dl=0 times_cs="" times_ngx=""
for r in $(seq 1 "$ROUNDS"); do
  order="$P_CS $P_NGX"
  [ $((r % 2)) = 0 ] && order="$P_NGX $P_CS"
  for port in $order; do
    start_rss
    t=$(curl -fsS -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port$HREF")
    stop_rss
    mb=$RSS_MB
    if [ "$port" = $P_CS ]; then
      best_cs=$(awk -v a="$best_cs" -v b="$t" 'BEGIN { print (b < a ? b : a) }')
      times_cs+="$t "
      [ "$mb" -gt "$rss_dl" ] && rss_dl=$mb
      who=binary
    else
      best_ngx=$(awk -v a="$best_ngx" -v b="$t" 'BEGIN { print (b < a ? b : a) }')
      times_ngx+="$t "
      who=nginx
    fi
    cpu=""
    [ "$who" = binary ] && cpu="server cpu $CPU_S s"
    awk -v t="$t" -v b="$BYTES" -v w="$who" -v r="$r" -v c="$cpu" 'BEGIN { printf "round %d  %-7s %6.2f s  %7.0f MB/s  %s\n", r, w, t, b/1048576/t, c }'
  done
done
awk -v a="$best_cs" -v b="$best_ngx" -v n="$BYTES" -v r="$rss_dl" 'BEGIN {
  printf "download, best of each: binary %.0f MB/s, nginx %.0f MB/s, binary/nginx %.2f (target >= 0.9); server RSS +%d MB during the binary'"'"'s\n", n/1048576/a, n/1048576/b, b/a, r }'
# median SECONDS...: the middle one (the lower of the middle two).
median() { tr ' ' '\n' <<<"$*" | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
awk -v a="$(median $times_cs)" -v b="$(median $times_ngx)" -v n="$BYTES" 'BEGIN {
  printf "download, median of each: binary %.0f MB/s, nginx %.0f MB/s, binary/nginx %.2f\n", n/1048576/a, n/1048576/b, b/a }'
say "done"
