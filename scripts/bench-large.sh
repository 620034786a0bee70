#!/usr/bin/env bash
# Large files (issue 20): a 1 GiB wheel uploaded to the binary and through the
# generated nginx, and downloaded from each, beside the physical limits of the
# same bytes measured in the same run (write+fsync, each digest alone, the
# digests' CPU time over the cores) and a receiver made of the upload's own
# parts and nothing else (benchload receiver, from the same client), with
# the server's RSS above idle during each. scripts/bench.sh runs it
# (BENCH_LARGE=1, the default); it also runs alone. Not in CI: it writes and
# reads several GiB.
#
#   BENCH_LARGE_SIZE=1073741824   bytes of each wheel
#   BENCH_LARGE_UP_ROUNDS=3       upload rounds (each a new wheel to the binary, nginx and the receiver, the order rotating; best and median)
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
P_CS=18090 P_NGX=18091 P_RCV=18092

# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
cleanup() {
  stop_pids
  rm -rf "$DIR/data" "$DIR/receiver" "$DIR"/*.whl
}
trap cleanup EXIT

# cpu_ticks PID: the process's user+system time so far, in clock ticks. On a
# machine shared with other work, the server's CPU time per upload is the
# figure the load does not inflate.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICKS=$(getconf CLK_TCK)
# They sample the process RSS_PID (the server unless set otherwise), whose
# RSS when idle is IDLE_KB.
start_rss() { rm -f "$DIR/rss.stop"; sample_rss "$RSS_PID" & SAMPLER=$!; CPU0=$(cpu_ticks "$RSS_PID"); }
# stop_rss sets RSS_MB to the peak above idle (not in a $(...) subshell,
# which cannot wait for the sampler).
stop_rss() {
  CPU_S=$(awk -v a="$CPU0" -v b="$(cpu_ticks "$RSS_PID")" -v t="$TICKS" 'BEGIN { printf "%.2f", (b - a) / t }')
  touch "$DIR/rss.stop"; wait "$SAMPLER"; RSS_MB=$(( ($(cat "$DIR/rss.max") - IDLE_KB) / 1024 ))
}

DATA=$DIR/data
rm -rf "$DATA"; mkdir -p "$DATA"
dropdb $DB
"$BIN" migrate --create-database --database-url "$PG/$DB$PGOPT" --log-level warn
adduser $DB "$DATA"

UP_ROUNDS=${BENCH_LARGE_UP_ROUNDS:-3}
say "large files: $((UP_ROUNDS * 2)) wheels of $((SIZE >> 20)) MiB"
# Two wheels a round: big_bin-R.0 for the binary and the receiver,
# big_ngx-R.0 for nginx.
for r in $(seq 1 "$UP_ROUNDS"); do
  "$BL" bigwheel -out "$DIR/big_bin-$r.0-py3-none-any.whl" -name big_bin -version "$r.0" -size "$SIZE"
  "$BL" bigwheel -out "$DIR/big_ngx-$r.0-py3-none-any.whl" -name big_ngx -version "$r.0" -size "$SIZE"
done
W_BIN=$DIR/big_bin-1.0-py3-none-any.whl
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

# The peer of an upload: a receiver made of the upload's own parts
# (multipart parse, fan-out to the temp file and the three digests,
# fsync) and nothing else (benchload receiver).
rm -rf "$DIR/receiver"; mkdir -p "$DIR/receiver"
"$BL" receiver -listen "127.0.0.1:$P_RCV" -dir "$DIR/receiver" &
pids+=($!)
PID_rcv=$!

sleep 1
IDLE_cs=$(rss_kb "$PID_cs") IDLE_rcv=$(rss_kb "$PID_rcv")
RSS_PID=$PID_cs IDLE_KB=$IDLE_cs
say "server RSS idle: $((IDLE_KB / 1024)) MB"

# upload PORT WHEEL NAME VERSION: one upload with curl, as twine sends it
# (fields, then the file); prints seconds, the server's RSS peak above idle,
# its CPU seconds and how much the page cache grew (the stored copy's
# pages). The disk is synced first: the wheels just written, and the last
# upload's copy, would otherwise be written back during it.
upload() {
  local sha out mb
  sha=$(sha256sum "$2" | cut -d' ' -f1)
  sync
  cached0=$(awk '/^Cached:/ {print $2}' /proc/meminfo)
  start_rss
  out=$(curl -sS -o "$DIR/upload.body" -w '%{http_code} %{time_total}' -u bench:bench \
    -F ':action=file_upload' -F protocol_version=1 -F metadata_version=2.1 -F "name=$3" -F "version=$4" \
    -F filetype=bdist_wheel -F pyversion=py3 -F "sha256_digest=$sha" \
    -F "content=@$2;type=application/octet-stream" "http://127.0.0.1:$1/legacy/")
  stop_rss
  mb=$RSS_MB
  if [ "${out%% *}" != 200 ]; then echo "bench: upload to $1 answered $out: $(cat "$DIR/upload.body")" >&2; exit 1; fi
  echo "${out#* } $mb $CPU_S $((($(awk '/^Cached:/ {print $2}' /proc/meminfo) - cached0) / 1024))"
}
# median SECONDS...: the middle one (the lower of the middle two).
median() { tr ' ' '\n' <<<"$*" | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
best() { tr ' ' '\n' <<<"$*" | grep . | sort -g | head -1; }
say "upload of $((BYTES >> 20)) MiB, $UP_ROUNDS rounds"
up_cs="" up_ngx="" up_rcv="" rss_up=0
for r in $(seq 1 "$UP_ROUNDS"); do
  # Each round in another order: cs ngx rcv, ngx rcv cs, rcv cs ngx, ...
  order="cs ngx rcv cs ngx"
  order=$(cut -d' ' -f$((1 + (r - 1) % 3))-$((3 + (r - 1) % 3)) <<<"$order")
  for who in $order; do
    RSS_PID=$PID_cs IDLE_KB=$IDLE_cs
    case $who in
    cs) port=$P_CS name=big_bin label="to the binary" ;;
    ngx) port=$P_NGX name=big_ngx label="through nginx" ;;
    rcv) port=$P_RCV name=big_bin label="to the receiver" RSS_PID=$PID_rcv IDLE_KB=$IDLE_rcv ;;
    esac
    upload $port "$DIR/$name-$r.0-py3-none-any.whl" $name "$r.0" >"$DIR/up.out"
    read -r t mb cpu cache <"$DIR/up.out"
    case $who in
    cs) up_cs+="$t " ;;
    ngx) up_ngx+="$t " ;;
    rcv) up_rcv+="$t " ;;
    esac
    [ $who = rcv ] || [ "$mb" -le "$rss_up" ] || rss_up=$mb
    awk -v t="$t" -v l="$LIMIT" -v b="$BYTES" -v w="$label" -v r="$r" -v m="$mb" -v c="$cpu" -v p="$cache" 'BEGIN {
      printf "round %d  upload %-16s %6.2f s  %5.0f MB/s  %.2fx the digest limit  RSS +%d MB  server cpu %.2f s  page cache %+d MB\n", r, w, t, b/1048576/t, t/l, m, c, p }'
  done
  rm -f "$DIR"/big_*-"$r".0-py3-none-any.whl
done
for who in "to the binary" "through nginx" "to the receiver"; do
  case $who in
  "to the binary") times=$up_cs target=" target <= 1.6x" ;;
  "through nginx") times=$up_ngx target=" target <= 1.9x" ;;
  *) times=$up_rcv target="" ;;
  esac
  awk -v b="$(best $times)" -v m="$(median $times)" -v l="$LIMIT" -v w="$who" -v g="$target" 'BEGIN {
    printf "upload %-16s best %.2f s (%.2fx the digest limit), median %.2f s (%.2fx);%s\n", w, b, b/l, m, m/l, g }'
done
echo "server RSS during the uploads: +$rss_up MB above idle (target <= 64)"
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
awk -v a="$(median $times_cs)" -v b="$(median $times_ngx)" -v n="$BYTES" 'BEGIN {
  printf "download, median of each: binary %.0f MB/s, nginx %.0f MB/s, binary/nginx %.2f\n", n/1048576/a, n/1048576/b, b/a }'
say "done"
