#!/usr/bin/env bash
# wsgate against nginx and HAProxy, side by side, on the loopback of this machine.
#
#   tests/bench/run.sh [--quick] [--reps N] [--duration S] [--configs LIST] [--tests LIST]
#                      [--max-steal PCT] [--build-dir DIR] [--no-build] [--no-install]
#                      [--idle-connections N]
#   tests/bench/run.sh --table RESULTS.jsonl     (the table of an earlier run)
#   tests/bench/run.sh --chart RESULTS.jsonl OUT.svg   (the chart of an earlier run)
#
# Builds wsgate, the echo backend and the load generator (Release, in build-bench/), installs
# nginx and haproxy from Debian when they are missing, then for each repetition runs every
# configuration (direct to the echo backend, nginx, HAProxy, wsgate with 1 worker on its epoll
# engine, wsgate_uring: the same on its io_uring engine) in a rotated order through the same tests:
#   echo64    64 B text messages, 100 connections, closed loop: msgs/s, p99, proxy CPU/msg
#   echo64c1k the same with 1,000 connections
#   echo64c4k the same with 4,000 connections
#   echo64k   64 KiB text messages, 10 connections: MB/s
#   handshake connect + upgrade + close, 20 connections at once: upgrades/s
#   hsrs256   the same through wsgate on a route that verifies an RS256 JWT (2048-bit key);
#             every upgrade sends one of 16384 distinct tokens (its cache of verified tokens,
#             4096 entries, misses: the signature check is paid on every upgrade)
#   hses256   the same with ES256 JWTs (P-256)
#   hsrs256c, hses256c  one token for every upgrade (after the first, verified from the cache)
#   flood     backend -> client, 64 KiB binary messages, 1 connection: MB/s
#   idle      5000 connections held open: proxy RSS growth per connection
#   echo64kz  64 KiB JSON text messages (deflate about 5x) with permessage-deflate negotiated
#             (the echo backend reflects compressed frames), 10 connections: MB/s of messages;
#             wsgate inflates a copy of each one, nginx and HAProxy pass the extension through
#   idlez     idle, with permessage-deflate and context takeover both ways, after one compressed
#             message each way per connection: RSS growth per connection
#   idlezn    the same with no_context_takeover both ways
# and, over TLS (wss://; nginx, HAProxy and wsgate on a second listener with the same ECDSA
# P-256 certificate, made for the run, and OpenSSL's default suites):
#   wss64     64 B text messages over wss, 100 connections: msgs/s, p99, proxy CPU/msg
#   wsshs     connect + full TLS handshake + upgrade + close, 20 connections: handshakes/s
#   wssres    the same with every handshake resuming a session ticket
#   wssidle   5000 wss connections held open (resumed handshakes): RSS growth per connection
# and prints a Markdown table of the medians with wsgate's ratio to the best of nginx and
# HAProxy, and writes the chart of the run (tests/bench/chart.py: one panel per test, a bar for
# each of direct, nginx, HAProxy and wsgate) next to the results as results-STAMP.svg. Every
# JSON result line is kept in build-bench/bench/. `--configs` takes a comma list
# of direct, nginx, haproxy, wsgate, wsgate_uring and wsgate2 (wsgate with 2 workers, epoll, not
# run by default); wsgate_before (not run by default) is the `wsgate` configuration run by the
# binary WSGATE_BEFORE names, a build of an earlier commit, for before/after figures in one run;
# `--tests` a comma list of the test names above (default: all), to repeat a few tests more often.
# The balancing configurations wsgate_rr, wsgate_lc and wsgate_ch (not run by default) are wsgate
# with 1 worker in front of a pool of four echo backends, balanced by round_robin, least_conn and
# consistent_hash (hash_key "ip", hash_balance_factor 1.25: every connection has the same key,
# so the bounded-load walk runs on every pick); with them the run prints the upgrades/s of each
# and the ratios to round_robin: tests/bench/run.sh --configs wsgate_rr,wsgate_lc,wsgate_ch
# --tests handshake.
# On a VM, a window in which the hypervisor stole more than --max-steal percent (default 5) of
# the CPU is run again, up to 3 times; the steal of every window is in its result line.
# --quick: one repetition with 2 s windows (under a minute instead of about 5).
#
# It starts only its own processes, stops them by PID, listens on 127.0.0.1 only, and every
# measurement is bounded in time. Progress goes to stderr, the table to stdout.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=$REPO/build-bench
REPS=3
DURATION=5
WARMUP=1
FLOOD_DURATION=3
IDLE_HOLD=1
IDLE_CONNS=5000
CONFIGS="direct nginx haproxy wsgate wsgate_uring"
ALL_TESTS="echo64 echo64c1k echo64c4k echo64k handshake hsrs256 hses256 hsrs256c hses256c flood idle echo64kz idlez idlezn wss64 wsshs wssres wssidle"
TESTS=$ALL_TESTS
MAX_STEAL=5      # percent of CPU time stolen by the hypervisor above which a window is run again
STEAL_RETRIES=3
DO_BUILD=1
DO_INSTALL=1
TABLE_FROM=
CHART_FROM=
CHART_TO=

usage() {
  awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"
  exit "${1:-0}"
}

while [ $# -gt 0 ]; do
  case $1 in
  --quick)
    REPS=1 DURATION=2 WARMUP=0.5 FLOOD_DURATION=2
    ;;
  --reps) REPS=$2 && shift ;;
  --duration) DURATION=$2 && shift ;;
  --configs) CONFIGS=${2//,/ } && shift ;;
  --tests) TESTS=${2//,/ } && shift ;;
  --max-steal) MAX_STEAL=$2 && shift ;;
  --build-dir) BUILD_DIR=$(realpath -m "$2") && shift ;;
  --idle-connections) IDLE_CONNS=$2 && shift ;;
  --no-build) DO_BUILD=0 ;;
  --no-install) DO_INSTALL=0 ;;
  --table) TABLE_FROM=$2 && shift ;;
  --chart) CHART_FROM=$2 CHART_TO=${3:?--chart RESULTS.jsonl OUT.svg} && shift 2 ;;
  -h | --help) usage 0 ;;
  *) echo "run.sh: unknown option $1" >&2 && usage 2 ;;
  esac
  shift
done
for t in $TESTS; do
  case " $ALL_TESTS " in *" $t "*) ;; *) echo "run.sh: unknown test $t" >&2 && usage 2 ;; esac
done

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# ---------------------------------------------------------------------------------------------
# The table, from a results file: medians per configuration, wsgate against the better of nginx
# and HAProxy.

# The value of the numeric field $2 in the JSON line $1 (empty when absent).
field() { sed -n "s/.*\"$2\":\(-\{0,1\}[0-9][0-9.]*\).*/\1/p" <<<"$1"; }
# The value of the string field $2 in the JSON line $1.
sfield() { sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p" <<<"$1"; }

# Prints "config metric value" for every measured value in results file $1.
table_values() {
  local line label config test pairs pair value
  while IFS= read -r line; do
    label=$(sfield "$line" label)
    [ -n "$label" ] || continue
    config=${label%%/*} test=${label#*/}
    case ${test%%/*} in
    echo64) pairs="echo64_msgs=msgs_per_s echo64_p50=p50_us echo64_p99=p99_us"
      pairs+=" echo64_cpu=proxy_cpu_s_per_million" ;;
    echo64c1k) pairs="c1k_msgs=msgs_per_s c1k_p99=p99_us c1k_cpu=proxy_cpu_s_per_million" ;;
    echo64c4k) pairs="c4k_msgs=msgs_per_s c4k_p99=p99_us c4k_cpu=proxy_cpu_s_per_million" ;;
    echo64k) pairs="echo64k_mbs=mb_per_s echo64k_p99=p99_us" ;;
    handshake) pairs="hs_rate=upgrades_per_s hs_p99=p99_us hs_cpu=proxy_cpu_s_per_million" ;;
    hsrs256) pairs="hsrs256_rate=upgrades_per_s hsrs256_cpu=proxy_cpu_s_per_million" ;;
    hses256) pairs="hses256_rate=upgrades_per_s hses256_cpu=proxy_cpu_s_per_million" ;;
    hsrs256c) pairs="hsrs256c_rate=upgrades_per_s" ;;
    hses256c) pairs="hses256c_rate=upgrades_per_s" ;;
    flood) pairs="flood_mbs=mb_per_s" ;;
    idle) pairs="idle_kib=rss_per_conn_kib" ;;
    echo64kz) pairs="echo64kz_mbs=mb_per_s echo64kz_p99=p99_us echo64kz_cpu=proxy_cpu_s_per_million" ;;
    idlez) pairs="idlez_kib=rss_per_conn_kib" ;;
    idlezn) pairs="idlezn_kib=rss_per_conn_kib" ;;
    wss64) pairs="wss64_msgs=msgs_per_s wss64_p99=p99_us wss64_cpu=proxy_cpu_s_per_million" ;;
    wsshs) pairs="wsshs_rate=upgrades_per_s wsshs_cpu=proxy_cpu_s_per_million" ;;
    wssres) pairs="wssres_rate=upgrades_per_s wssres_cpu=proxy_cpu_s_per_million" ;;
    wssidle) pairs="wssidle_kib=rss_per_conn_kib" ;;
    *) pairs="" ;;
    esac
    for pair in $pairs; do
      value=$(field "$line" "${pair#*=}")
      [ -n "$value" ] && echo "$config ${pair%%=*} $value"
    done
    value=$(field "$line" errors)
    echo "$config errors ${value:-1}"
  done <"$1"
}

# Prints "config metric median min max" (errors: the sum) from table_values output in $1.
table_medians() {
  awk '{ v[$1 " " $2] = v[$1 " " $2] " " $3; if ($2 == "errors") e[$1] += $3 }
    END {
      for (k in v) {
        n = split(substr(v[k], 2), a, " ")
        for (i = 1; i <= n; i++)
          for (j = i + 1; j <= n; j++)
            if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        m = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        split(k, key, " ")
        if (key[2] != "errors") print k, m, a[1], a[n]
      }
      for (c in e) print c, "errors", e[c], e[c], e[c]
    }' "$1"
}

median() { awk -v k="$1 $2" '$1 " " $2 == k { print $3; exit }' "$MEDIANS"; }
# " (min-max)" over the repetitions of configuration $1, metric $2, with $3 decimals.
spread() {
  awk -v k="$1 $2" -v d="$3" '$1 " " $2 == k && $4 != $5 {
    printf " (%.*f-%.*f)", d, $4, d, $5; exit }' "$MEDIANS"
}

# Prints a table row. dir: max (higher is better), min (lower is better) or none (no ratio).
# target: "" or OP VALUE [abs]: ">= 1.25" compares the ratio, "<= 2 abs" the wsgate value.
row() {
  local label=$1 metric=$2 digits=$3 dir=$4 target=$5 cells="" n h w v best="" ratio="-"
  local verdict="" config ratios="" engine
  for config in "${COLUMNS_SHOWN[@]}"; do
    v=$(median "$config" "$metric")
    if [ -z "$v" ]; then
      cells+=" - |"
    elif [ "$dir" = none ]; then
      cells+=" $(printf "%.${digits}f" "$v") |"
    else
      cells+=" $(printf "%.${digits}f" "$v")$(spread "$config" "$metric" "$digits") |"
    fi
  done
  n=$(median nginx "$metric")
  h=$(median haproxy "$metric")
  # One ratio per wsgate binary and engine shown.
  for engine in "${ENGINES_SHOWN[@]}"; do
    w=$(median "$engine" "$metric")
    ratio="-"
    if [ "$dir" != none ] && [ -n "$w" ] && { [ -n "$n" ] || [ -n "$h" ]; }; then
      best=$(awk -v n="$n" -v h="$h" -v d="$dir" 'BEGIN {
        if (n == "") print h; else if (h == "") print n;
        else if (d == "max") print (n + 0 > h + 0 ? n : h); else print (n + 0 < h + 0 ? n : h) }')
      ratio=$(awk -v w="$w" -v b="$best" 'BEGIN { if (b > 0) printf "%.2fx", w / b; else print "-" }')
    fi
    ratios+=" $ratio |"
  done
  # The target is judged on io_uring when it ran, else on epoll (never on a "before" binary).
  if [[ " ${ENGINES_SHOWN[*]} " == *" wsgate_uring "* ]]; then
    w=$(median wsgate_uring "$metric")
  else
    w=$(median wsgate "$metric")
  fi
  if [ -n "$target" ] && [ -n "$w" ]; then
    # "OP VALUE nginx": the target compares wsgate with nginx alone (the TLS issue's target).
    if [ "${target##* }" = nginx ]; then
      best=$n
      target="${target% nginx} vs-nginx"
    fi
    verdict=$(awk -v w="$w" -v b="${best:-0}" -v t="$target" 'BEGIN {
      split(t, p, " "); abs = (p[3] == "abs")
      want = "(" p[1] " " p[2] (abs ? "" : "x") (p[3] == "vs-nginx" ? " nginx" : "") ")"
      if (!abs && b <= 0) { print "n/a " want; exit }
      r = abs ? w : w / b
      ok = (p[1] == ">=") ? (r >= p[2]) : (r <= p[2])
      print (ok ? "met " : "NOT met ") want (p[3] == "vs-nginx" ? sprintf(": %.2fx", r) : "") }')
  fi
  echo "| $label |$cells$ratios $verdict |"
}

# wsgate's upgrades/s with JWT verification against the same process without auth.
auth_ratios() {
  local none rs es rsc esc
  none=$(median wsgate hs_rate)
  rs=$(median wsgate hsrs256_rate)
  es=$(median wsgate hses256_rate)
  rsc=$(median wsgate hsrs256c_rate)
  esc=$(median wsgate hses256c_rate)
  [ -n "$none" ] && { [ -n "$rs$es$rsc$esc" ]; } || return 0
  awk -v n="$none" -v r="$rs" -v e="$es" -v rc="$rsc" -v ec="$esc" 'BEGIN {
    printf "JWT verification, wsgate (1 worker) upgrades/s against no auth in the same run:"
    if (r != "") printf " RS256 %.2fx", r / n
    if (e != "") printf " ES256 %.2fx", e / n
    if (rc != "") printf "; one cached token: RS256 %.2fx", rc / n
    if (ec != "") printf " ES256 %.2fx", ec / n
    print "." }'
  echo
}

# Prints the Markdown table for results file $1.
print_table() {
  local file=$1 info values header rule
  info=$(head -1 "$file")
  values=$(mktemp)
  MEDIANS=$(mktemp)
  table_values "$file" >"$values"
  table_medians "$values" >"$MEDIANS"
  echo
  echo "wsgate benchmark $(sfield "$info" date), $(field "$info" cores) cores" \
    "($(sfield "$info" cpu)), $(field "$info" reps) repetition(s), $(field "$info" duration_s) s windows," \
    "load average before: $(sfield "$info" loadavg)"
  echo "nginx $(sfield "$info" nginx), HAProxy $(sfield "$info" haproxy), wsgate $(sfield "$info" wsgate)." \
    "Cells: median (min-max over the repetitions). Ratios: wsgate (1 worker, each engine) / the" \
    "better of nginx and HAProxy; the target is judged on io_uring's ratio when it ran."
  local tls
  tls=$(grep -m1 '"tls":"' "$file" || true)
  if [ -n "$tls" ]; then
    echo "wss rows: ECDSA P-256 certificate, negotiated $(sfield "$tls" tls) (the same for every" \
      "proxy: the generator reports it per run); the TLS targets compare wsgate with nginx."
  fi
  echo
  # wsgate2 (2 workers) runs only on request: on 2 cores it competes with the generator and the
  # backend, so its column says nothing about scaling there.
  COLUMNS_SHOWN=(direct nginx haproxy wsgate)
  ENGINES_SHOWN=(wsgate)
  header="| test | direct | nginx | haproxy | wsgate epoll (1 worker) |"
  rule="|---|---:|---:|---:|---:|"
  if grep -q '^wsgate_uring ' "$values"; then
    COLUMNS_SHOWN+=(wsgate_uring)
    ENGINES_SHOWN+=(wsgate_uring)
    header+=" wsgate io_uring (1 worker) |"
    rule+="---:|"
  fi
  if grep -q '^wsgate_before ' "$values"; then
    COLUMNS_SHOWN+=(wsgate_before)
    ENGINES_SHOWN+=(wsgate_before)
    header+=" wsgate epoll, before (1 worker) |"
    rule+="---:|"
  fi
  if grep -q '^wsgate2 ' "$values"; then
    COLUMNS_SHOWN+=(wsgate2)
    header+=" wsgate epoll (2 workers) |"
    rule+="---:|"
  fi
  local -A ratio_label=([wsgate]="epoll vs best" [wsgate_uring]="io_uring vs best"
    [wsgate_before]="epoll before vs best")
  for engine in "${ENGINES_SHOWN[@]}"; do
    header+=" ${ratio_label[$engine]} |"
    rule+="---:|"
  done
  echo "$header target |"
  echo "$rule---|"
  row "64 B echo, 100 conns: msgs/s" echo64_msgs 0 max ">= 1.25"
  row "64 B echo: p50 latency (us)" echo64_p50 0 min ""
  row "64 B echo: p99 latency (us)" echo64_p99 0 min "<= 1.00"
  row "64 B echo: proxy CPU s per 1M msgs" echo64_cpu 2 min "<= 0.75"
  row "64 B echo, 1,000 conns: msgs/s" c1k_msgs 0 max ">= 1.25"
  row "64 B echo, 1,000 conns: p99 latency (us)" c1k_p99 0 min "<= 1.00"
  row "64 B echo, 1,000 conns: proxy CPU s per 1M msgs" c1k_cpu 2 min "<= 0.75"
  row "64 B echo, 4,000 conns: msgs/s" c4k_msgs 0 max ">= 1.25"
  row "64 B echo, 4,000 conns: p99 latency (us)" c4k_p99 0 min "<= 1.00"
  row "64 B echo, 4,000 conns: proxy CPU s per 1M msgs" c4k_cpu 2 min "<= 0.75"
  row "64 KiB text echo, 10 conns: MB/s" echo64k_mbs 0 max ">= 1.50"
  row "64 KiB text echo: p99 latency (us)" echo64k_p99 0 min ""
  row "upgrades/s, 20 conns" hs_rate 0 max ">= 1.25"
  row "upgrade p99 latency (us)" hs_p99 0 min ""
  row "proxy CPU s per 1M upgrades" hs_cpu 1 min ""
  row "upgrades/s with RS256 JWT verification" hsrs256_rate 0 max ""
  row "proxy CPU s per 1M RS256 upgrades" hsrs256_cpu 1 min ""
  row "upgrades/s with ES256 JWT verification" hses256_rate 0 max ""
  row "proxy CPU s per 1M ES256 upgrades" hses256_cpu 1 min ""
  row "upgrades/s, one RS256 token (cached)" hsrs256c_rate 0 max ""
  row "upgrades/s, one ES256 token (cached)" hses256c_rate 0 max ""
  row "flood backend->client, 1 conn: MB/s" flood_mbs 0 max ""
  row "idle RSS per connection (KiB)" idle_kib 2 min "<= 2 abs"
  row "64 KiB deflated JSON echo, 10 conns: MB/s" echo64kz_mbs 0 max ""
  row "64 KiB deflated JSON echo: p99 latency (us)" echo64kz_p99 0 min ""
  row "64 KiB deflated JSON echo: proxy CPU s per 1M msgs" echo64kz_cpu 0 min ""
  row "idle RSS per deflate session, takeover (KiB)" idlez_kib 2 min ""
  row "idle RSS per deflate session, no takeover (KiB)" idlezn_kib 2 min ""
  row "wss 64 B echo, 100 conns: msgs/s" wss64_msgs 0 max ">= 1.00 nginx"
  row "wss 64 B echo: p99 latency (us)" wss64_p99 0 min ""
  row "wss 64 B echo: proxy CPU s per 1M msgs" wss64_cpu 2 min ""
  row "wss full handshakes/s, 20 conns" wsshs_rate 0 max ">= 1.00 nginx"
  row "proxy CPU s per 1M full handshakes" wsshs_cpu 0 min ""
  row "wss resumed handshakes/s, 20 conns" wssres_rate 0 max ""
  row "proxy CPU s per 1M resumed handshakes" wssres_cpu 0 min ""
  row "wss idle RSS per connection (KiB)" wssidle_kib 2 min ""
  row "errors (all tests, all repetitions)" errors 0 none ""
  echo
  auth_ratios
  # Older result files have no steal_pct.
  sed -n 's/.*"label":"\([^"]*\)".*"steal_pct":\([0-9.]*\).*/\2 \1/p' "$file" | sort -n |
    awk -v m="$MAX_STEAL" '
      { v[NR] = $1; l[NR] = $2; if ($1 > m) n++ }
      END { if (NR == 0) exit
        printf "CPU steal (hypervisor time given to other guests) in the %d measurement windows: median %.1f %%, max %.1f %% (%s)", NR, v[int((NR + 1) / 2)], v[NR], l[NR]
        printf "; %d window(s) over %s %%.\n", n, m }'
  print_balancing
  rm -f "$values" "$MEDIANS"
}

# With the balancing configurations: their upgrades/s side by side, as ratios to round_robin.
print_balancing() {
  local rr lc ch
  rr=$(median wsgate_rr hs_rate)
  [ -n "$rr" ] || return 0
  lc=$(median wsgate_lc hs_rate)
  ch=$(median wsgate_ch hs_rate)
  echo
  echo "Balancing, 4 echo backends, 1 worker, upgrades/s (median, min-max) and ratio to round_robin" \
    "(target: within 3%):"
  echo
  echo "| balance | upgrades/s | ratio to round_robin | p99 (us) |"
  echo "|---|---:|---:|---:|"
  local config v
  for config in wsgate_rr wsgate_lc wsgate_ch; do
    v=$(median "$config" hs_rate)
    [ -n "$v" ] || continue
    echo "| ${config#wsgate_} | $(printf %.0f "$v")$(spread "$config" hs_rate 0) |" \
      "$(awk -v v="$v" -v r="$rr" 'BEGIN { printf "%.3f", v / r }') |" \
      "$(printf %.0f "$(median "$config" hs_p99)") |"
  done
}

if [ -n "$TABLE_FROM" ]; then
  print_table "$TABLE_FROM"
  exit 0
fi

# The SVG chart of results file $1, written to $2 (Debian's python3, no extra module).
write_chart() {
  python3 "$REPO/tests/bench/chart.py" "$1" "$2"
}

if [ -n "$CHART_FROM" ]; then
  write_chart "$CHART_FROM" "$CHART_TO"
  log "chart: $CHART_TO"
  exit 0
fi

# ---------------------------------------------------------------------------------------------
# Build and install.

if [ "$DO_BUILD" = 1 ]; then
  if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
    log "configuring a Release build in $BUILD_DIR"
    cmake -S "$REPO" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DWSGATE_TESTS=ON \
      -DWSGATE_BENCH=ON >/dev/null
  fi
  log "building wsgate, wsgate-echo, wsgate-bench"
  cmake --build "$BUILD_DIR" -j "$(nproc)" --target wsgate wsgate-echo wsgate-bench >/dev/null
fi
WSGATE=$BUILD_DIR/wsgate
ECHO=$BUILD_DIR/tests/echo/wsgate-echo
GEN=$BUILD_DIR/tests/bench/loadgen/wsgate-bench
for bin in "$WSGATE" "$ECHO" "$GEN"; do
  [ -x "$bin" ] || die "$bin is missing (build it, or drop --no-build)"
done

export PATH=$PATH:/usr/sbin:/sbin
wants() { case " $CONFIGS " in *" $1 "*) return 0 ;; *) return 1 ;; esac }
selected() { case " $TESTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac }

install_proxies() {
  local missing=()
  if wants nginx && ! command -v nginx >/dev/null; then missing+=(nginx); fi
  if wants haproxy && ! command -v haproxy >/dev/null; then missing+=(haproxy); fi
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$DO_INSTALL" = 1 ] || die "missing ${missing[*]} (and --no-install)"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "missing ${missing[*]}; install them as root"
    sudo=(sudo)
  fi
  local pkgs=()
  for p in "${missing[@]}"; do
    # nginx-light is the smallest build with the proxy module; newer Debian has only nginx.
    if [ "$p" = nginx ] && apt-cache show nginx-light >/dev/null 2>&1; then p=nginx-light; fi
    pkgs+=("$p")
  done
  log "installing ${pkgs[*]} from Debian"
  # Keep apt from starting the distribution's own nginx and haproxy services: this script
  # runs only instances of its own. A policy-rc.d that exists already is left alone.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    made_policy=1
  fi
  local status=0
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${pkgs[@]}" >/dev/null 2>&1 ||
    { "${sudo[@]}" apt-get update -qq >/dev/null &&
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${pkgs[@]}" >/dev/null; } || status=$?
  [ "$made_policy" = 1 ] && "${sudo[@]}" rm -f "$policy"
  [ "$status" = 0 ] || die "apt-get install ${pkgs[*]} failed"
}
install_proxies

# ---------------------------------------------------------------------------------------------
# Limits, scratch space, process bookkeeping.

# The proxies hold two sockets per idle connection; the hard limit caps what we may ask for.
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=65536
soft=$((hard < 65536 ? hard : 65536))
ulimit -Sn "$soft"
if [ $((2 * IDLE_CONNS + 1000)) -gt "$soft" ]; then
  IDLE_CONNS=$(((soft - 1000) / 2))
  log "open-file limit $soft: idle test reduced to $IDLE_CONNS connections"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wsgate-bench.XXXXXX")
chmod 755 "$WORK" # nginx workers run as nobody when started by root
RESULTS_DIR=$BUILD_DIR/bench
mkdir -p "$RESULTS_DIR"
STAMP=$(date +%Y%m%d-%H%M%S)
RESULTS=$RESULTS_DIR/results-$STAMP.jsonl
LOGS=$RESULTS_DIR/logs-$STAMP

OUR_PIDS=()
LAST_PID=

# Starts "$@" in the background with its output in $WORK/NAME.{out,err}; sets LAST_PID.
start_bg() {
  local name=$1
  shift
  "$@" >>"$WORK/$name.out" 2>>"$WORK/$name.err" &
  LAST_PID=$!
  OUR_PIDS+=("$LAST_PID")
}

# The PIDs whose parent is $1.
children_of() {
  local stat rest ppid
  for stat in /proc/[0-9]*/stat; do
    rest=$(cat "$stat" 2>/dev/null) || continue
    rest=${rest##*) }
    ppid=$(cut -d' ' -f2 <<<"$rest")
    if [ "$ppid" = "$1" ]; then
      stat=${stat#/proc/}
      echo "${stat%/stat}"
    fi
  done
}

# Stops one of our processes: SIGTERM, then SIGKILL (with its children) after 5 s.
stop_pid() {
  local pid=$1 i kids
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kids=$(children_of "$pid")
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid did not stop on SIGTERM: SIGKILL"
    # shellcheck disable=SC2086
    kill -KILL "$pid" $kids 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  local kept=()
  for p in "${OUR_PIDS[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  OUR_PIDS=("${kept[@]}")
}

cleanup() {
  local pid
  for pid in "${OUR_PIDS[@]}"; do stop_pid "$pid"; done
  # Keep the processes' own output next to the results, for a look after a failure.
  mkdir -p "$LOGS"
  cp "$WORK"/*.out "$WORK"/*.err "$WORK"/*.log "$LOGS"/ 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# True when something on 127.0.0.1 (or any address) listens on TCP port $1.
listening() {
  local hex
  hex=$(printf '%04X' "$1")
  awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 }
    END { exit !found }' /proc/net/tcp
}

# A port nothing uses, below the ephemeral range.
free_port() {
  local port hex
  while :; do
    port=$((20000 + RANDOM % 12000))
    hex=$(printf ':%04X' "$port")
    awk -v p="$hex" 'NR > 1 && substr($2, length($2) - 4) == p { found = 1 }
      END { exit !found }' /proc/net/tcp /proc/net/tcp6 || break
  done
  echo "$port"
}

# Waits (up to 10 s) until $1 matches in file $2, or process $3 exits.
wait_for_line() {
  local i
  for ((i = 0; i < 200; i++)); do
    grep -q "$1" "$2" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# Waits (up to 10 s) until port $1 listens, or process $2 exits.
wait_for_port() {
  local i
  for ((i = 0; i < 200; i++)); do
    listening "$1" && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# ---------------------------------------------------------------------------------------------
# The system under test: the echo backend, and one proxy at a time.

log "starting the echo backend"
# --deflate: the echo accepts permessage-deflate offers (only the *z tests make any).
start_bg echo "$ECHO" --host 127.0.0.1 --port 0 --deflate
ECHO_PID=$LAST_PID
wait_for_line '^listening ' "$WORK/echo.out" "$ECHO_PID" || die "wsgate-echo did not start"
ECHO_PORT=$(sed -n 's/^listening .*:\([0-9]*\)$/\1/p' "$WORK/echo.out")
# The balancing configurations' pool: this echo backend and three more.
POOL_BACKENDS="\"127.0.0.1:$ECHO_PORT\""
EXTRA_ECHO_PIDS=()
if [[ " $CONFIGS " =~ \ wsgate_(rr|lc|ch)\  ]]; then
  for i in 1 2 3; do
    start_bg "echo$i" "$ECHO" --host 127.0.0.1 --port 0
    EXTRA_ECHO_PIDS+=("$LAST_PID")
    wait_for_line '^listening ' "$WORK/echo$i.out" "$LAST_PID" || die "wsgate-echo $i did not start"
    POOL_BACKENDS+=", \"127.0.0.1:$(sed -n 's/^listening .*:\([0-9]*\)$/\1/p' "$WORK/echo$i.out")\""
  done
fi

# The keys and tokens of the hsrs256 and hses256 tests (made per run; tokens valid for a day).
AUTH_DIR=$WORK/auth
mkdir -p "$AUTH_DIR"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$AUTH_DIR/rs.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$AUTH_DIR/es.pem" 2>/dev/null
python3 "$REPO/tests/bench/make_token.py" --jwks "$AUTH_DIR/rs.pem" "$AUTH_DIR/es.pem" >"$AUTH_DIR/jwks.json"
EXP=$(($(date +%s) + 86400))
RS_TOKEN=$(python3 "$REPO/tests/bench/make_token.py" RS256 "$AUTH_DIR/rs.pem" rs "$EXP")
ES_TOKEN=$(python3 "$REPO/tests/bench/make_token.py" ES256 "$AUTH_DIR/es.pem" es "$EXP")
if selected hsrs256 || selected hses256; then
  log "signing 2 x 16384 tokens for the JWT tests"
  python3 "$REPO/tests/bench/make_token.py" --many 16384 RS256 "$AUTH_DIR/rs.pem" rs "$EXP" \
    >"$AUTH_DIR/rs.headers"
  python3 "$REPO/tests/bench/make_token.py" --many 16384 ES256 "$AUTH_DIR/es.pem" es "$EXP" \
    >"$AUTH_DIR/es.headers"
fi

# The certificate every proxy serves on its wss listener: ECDSA P-256, self-signed for localhost.
TLS_DIR=$WORK/tls
mkdir -p "$TLS_DIR"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -keyout "$TLS_DIR/key.pem" -out "$TLS_DIR/cert.pem" 2>/dev/null ||
  die "openssl could not make the benchmark certificate"
cat "$TLS_DIR/cert.pem" "$TLS_DIR/key.pem" >"$TLS_DIR/combined.pem" # HAProxy's crt format
chmod 644 "$TLS_DIR"/*.pem # nginx reads the key as root before it drops privileges

PROXY_PID= # the process we started
WATCH=     # the PIDs whose CPU and RSS count (nginx: master and worker)
PORT=      # where the generator connects
TLS_PORT=  # the proxy's wss listener

write_nginx_conf() {
  local dir=$WORK/nginx location
  mkdir -p "$dir/tmp"
  # The same proxying for the ws and the wss server.
  location=$(
    cat <<EOF
    location / {
      proxy_pass http://127.0.0.1:$ECHO_PORT;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_set_header Host \$host;
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
    }
EOF
  )
  cat >"$dir/nginx.conf" <<EOF
# One worker, WebSocket reverse proxy to the echo backend; everything under $dir.
daemon off;
worker_processes 1;
worker_rlimit_nofile $soft;
pid $dir/nginx.pid;
error_log $WORK/nginx-$REP.log warn;
events {
  worker_connections $((2 * IDLE_CONNS + 1000));
}
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  server {
    listen 127.0.0.1:$PORT backlog=4096;
$location
  }
  server {
    listen 127.0.0.1:$TLS_PORT ssl backlog=4096;
    ssl_certificate $TLS_DIR/cert.pem;
    ssl_certificate_key $TLS_DIR/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_tickets on;
$location
  }
}
EOF
}

write_haproxy_conf() {
  cat >"$WORK/haproxy.cfg" <<EOF
# One thread, HTTP mode (the upgrade is parsed, then the connection is a tunnel).
global
  nbthread 1
  maxconn $((IDLE_CONNS + 1000))
defaults
  mode http
  maxconn $((IDLE_CONNS + 1000))
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout tunnel 1h
frontend ws
  bind 127.0.0.1:$PORT
  default_backend echo
frontend wss
  bind 127.0.0.1:$TLS_PORT ssl crt $TLS_DIR/combined.pem alpn http/1.1
  default_backend echo
backend echo
  server echo1 127.0.0.1:$ECHO_PORT
EOF
}

# usage: write_wsgate_conf WORKERS IO [BALANCE]; IO is epoll or io_uring; with BALANCE the pool
# is the four echo backends.
write_wsgate_conf() {
  local pool="backends = [\"127.0.0.1:$ECHO_PORT\"]"
  if [ -n "${3:-}" ]; then
    pool="balance = \"$3\"
hash_key = \"ip\"
hash_balance_factor = 1.25
backends = [$POOL_BACKENDS]"
  fi
  cat >"$WORK/wsgate.toml" <<EOF
[server]
workers = $1
io = "$2"
drain_timeout = "1s"
[admin]
listen = "127.0.0.1:0"
[log]
access_log = "off"
[[listeners]]
name = "public"
listen = "127.0.0.1:$PORT"
[[listeners]]
name = "secure"
listen = "127.0.0.1:$TLS_PORT"
  [listeners.tls]
  cert = "$TLS_DIR/cert.pem"
  key = "$TLS_DIR/key.pem"
[[routes]]
listener = "public"
pool = "echo"
[[routes]]
listener = "secure"
pool = "echo"
[[pools]]
name = "echo"
$pool
[policies.default]
max_frame_size = "16MiB"
max_message_size = "16MiB"
ping_interval = "0s"
$(auth_conf)
EOF
}

# The routes of the hsrs256 and hses256 tests: one JWKS with an RSA and a P-256 key.
auth_conf() {
  local prefix
  for prefix in rs256 es256; do
    printf '[[routes]]\nlistener = "public"\npath_prefix = "/%s"\npool = "echo"\npolicy = "%s"\n' \
      "$prefix" "$prefix"
    printf '[policies.%s]\nping_interval = "0s"\nauth = "%s"\n' "$prefix" "$prefix"
    printf '[auth.%s]\nalgorithms = ["%s"]\nkeys = "%s"\n' "$prefix" "${prefix^^}" "$AUTH_DIR/jwks.json"
  done
}

# usage: start_proxy CONFIG [PHASE]; PHASE names a second start in the same repetition, so that
# its output (and the ready line waited for) goes to a file of its own.
start_proxy() {
  local config=$1 kids name=$1-$REP${2:+-$2}
  PROXY_PID='' WATCH=''
  if [ "$config" = direct ]; then
    PORT=$ECHO_PORT
    return 0
  fi
  PORT=$(free_port)
  TLS_PORT=$(free_port)
  while [ "$TLS_PORT" = "$PORT" ]; do TLS_PORT=$(free_port); done
  case $config in
  nginx)
    write_nginx_conf
    start_bg "$name" nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx-$REP.log"
    ;;
  haproxy)
    write_haproxy_conf
    start_bg "$name" haproxy -db -f "$WORK/haproxy.cfg"
    ;;
  wsgate | wsgate2 | wsgate_uring)
    write_wsgate_conf "$([ "$config" = wsgate2 ] && echo 2 || echo 1)" \
      "$([ "$config" = wsgate_uring ] && echo io_uring || echo epoll)"
    start_bg "$name" "$WSGATE" -c "$WORK/wsgate.toml"
    ;;
  wsgate_before)
    # The same configuration as `wsgate`, run by the binary in $WSGATE_BEFORE (a build of an
    # earlier commit): a refactor's before/after figures, side by side in one run.
    [ -x "${WSGATE_BEFORE:-}" ] || die "wsgate_before needs WSGATE_BEFORE=path/to/an/older/wsgate"
    write_wsgate_conf 1 epoll
    start_bg "$name" "$WSGATE_BEFORE" -c "$WORK/wsgate.toml"
    ;;
  wsgate_rr | wsgate_lc | wsgate_ch)
    local -A balance_of=([wsgate_rr]=round_robin [wsgate_lc]=least_conn [wsgate_ch]=consistent_hash)
    write_wsgate_conf 1 epoll "${balance_of[$config]}"
    start_bg "$name" "$WSGATE" -c "$WORK/wsgate.toml"
    ;;
  *) die "unknown configuration $config" ;;
  esac
  PROXY_PID=$LAST_PID
  if [[ $config == wsgate* ]]; then
    wait_for_line '"event":"ready"' "$WORK/$name.err" "$PROXY_PID" || {
      cat "$WORK/$name.err" >&2
      die "wsgate did not start"
    }
  else
    { wait_for_port "$PORT" "$PROXY_PID" && wait_for_port "$TLS_PORT" "$PROXY_PID"; } || {
      cat "$WORK/$name.err" "$WORK/nginx-$REP.log" 2>/dev/null >&2
      die "$config did not start"
    }
  fi
  WATCH=$PROXY_PID
  if [ "$config" = nginx ]; then
    # The master forks the worker after it listens; count both.
    for ((i = 0; i < 100; i++)); do
      kids=$(children_of "$PROXY_PID")
      [ -n "$kids" ] && break
      sleep 0.05
    done
    [ -n "$kids" ] || die "nginx started no worker"
    for k in $kids; do WATCH+=",$k"; done
  fi
}

stop_proxy() {
  [ -n "$PROXY_PID" ] || return 0 # check_alive has recorded a proxy that died
  stop_pid "$PROXY_PID"
  PROXY_PID=
}

# ---------------------------------------------------------------------------------------------
# Measurements.

# "STEAL TOTAL" from /proc/stat's cpu line: clock ticks stolen by the hypervisor, and all ticks.
# (user to steal; the guest columns after them are already counted in user and nice)
cpu_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print $9, t; exit }' /proc/stat; }

# Runs the generator and appends its line to $RESULTS (a stand-in line when it printed none).
# usage: measure CONFIG TEST REP generator-args...
measure() {
  local config=$1 test=$2 rep=$3 line status=0 before after steal
  selected "$test" || return 0
  shift 3
  local args=(--port "$PORT" --label "$config/$test/$rep" "$@")
  [ -n "$WATCH" ] && args+=(--watch-pid "$WATCH")
  # On a VM, CPU steal is time the hypervisor gave to another guest: a window with much of it
  # measured the host, not the proxy. Such a window is run again (up to STEAL_RETRIES times;
  # not the idle tests, whose RSS does not depend on it); the steal of the window kept goes into
  # its line (steal_pct) and is summed up under the table.
  local attempt
  for ((attempt = 0; ; attempt++)); do
    status=0
    before=$(cpu_ticks)
    line=$(timeout 120 "$GEN" "${args[@]}" 2>>"$WORK/generator.err") || status=$?
    after=$(cpu_ticks)
    steal=$(awk -v b="$before" -v a="$after" 'BEGIN { split(b, x, " "); split(a, y, " ")
      d = y[2] - x[2]; printf "%.1f", (d > 0 ? 100 * (y[1] - x[1]) / d : 0) }')
    case $test in idle | wssidle | idlez | idlezn) break ;; esac
    awk -v s="$steal" -v m="$MAX_STEAL" 'BEGIN { exit !(s > m) }' || break
    [ "$attempt" -lt "$STEAL_RETRIES" ] || break
    log "$config $test: CPU steal $steal % (over $MAX_STEAL %): running the window again"
  done
  if [ -z "$line" ]; then
    log "$config $test: no result (exit $status)"
    line="{\"label\":\"$config/$test/$rep\",\"errors\":1,\"no_result\":$status}"
  fi
  line="${line%\}},\"steal_pct\":$steal,\"attempts\":$((attempt + 1))}"
  echo "$line" >>"$RESULTS"
  log "$config $test: $(summary "$test" "$line")$(awk -v s="$steal" -v m="$MAX_STEAL" 'BEGIN { if (s > m) printf ", CPU steal %s %%", s }')"
}

summary() {
  case $1 in
  echo64 | echo64c1k | echo64c4k) echo "$(field "$2" msgs_per_s) msgs/s p99 $(field "$2" p99_us) us," \
    "cpu/1M $(field "$2" proxy_cpu_s_per_million) s, errors $(field "$2" errors)" ;;
  echo64k) echo "$(field "$2" mb_per_s) MB/s p99 $(field "$2" p99_us) us, errors $(field "$2" errors)" ;;
  echo64kz) echo "$(field "$2" mb_per_s) MB/s ($(field "$2" wire_mb_per_s) MB/s on the wire," \
    "ratio $(field "$2" deflate_ratio)) p99 $(field "$2" p99_us) us," \
    "cpu/1M $(field "$2" proxy_cpu_s_per_million) s, errors $(field "$2" errors)" ;;
  handshake | hsrs256 | hses256 | hsrs256c | hses256c) echo "$(field "$2" upgrades_per_s) upgrades/s p99 $(field "$2" p99_us) us," \
    "errors $(field "$2" errors)" ;;
  flood) echo "$(field "$2" mb_per_s) MB/s, errors $(field "$2" errors)" ;;
  idle | wssidle | idlez | idlezn) echo "$(field "$2" open) open, $(field "$2" rss_per_conn_kib) KiB/conn," \
    "errors $(field "$2" errors)" ;;
  wss64) echo "$(field "$2" msgs_per_s) msgs/s p99 $(field "$2" p99_us) us," \
    "cpu/1M $(field "$2" proxy_cpu_s_per_million) s, $(sfield "$2" tls), errors $(field "$2" errors)" ;;
  wsshs | wssres) echo "$(field "$2" upgrades_per_s) handshakes/s," \
    "cpu/1M $(field "$2" proxy_cpu_s_per_million) s, resumed $(field "$2" tls_resumed)" \
    "of $(field "$2" tls_handshakes), errors $(field "$2" errors)" ;;
  esac
}

# Records an error line when the proxy of configuration $1 died during repetition $2's tests.
check_alive() {
  if [ "$1" != direct ] && ! kill -0 "$PROXY_PID" 2>/dev/null; then
    log "$1 (pid $PROXY_PID) exited during the tests; its output is kept in $LOGS"
    echo "{\"label\":\"$1/proxy/$2\",\"errors\":1,\"proxy_exited\":true}" >>"$RESULTS"
  fi
}

selected_any() {
  local t
  for t in "$@"; do selected "$t" && return 0; done
  return 1
}

run_config() {
  local config=$1 rep=$2
  REP=$rep
  start_proxy "$config"
  measure "$config" echo64 "$rep" --mode echo --connections 100 --size 64 --text \
    --duration "$DURATION" --warmup "$WARMUP"
  measure "$config" echo64c1k "$rep" --mode echo --connections 1000 --size 64 --text \
    --duration "$DURATION" --warmup "$WARMUP" --connect-concurrency 256
  measure "$config" echo64c4k "$rep" --mode echo --connections 4000 --size 64 --text \
    --duration "$DURATION" --warmup "$WARMUP" --connect-concurrency 256
  measure "$config" echo64k "$rep" --mode echo --connections 10 --size 64KiB --text \
    --duration "$DURATION" --warmup "$WARMUP"
  measure "$config" handshake "$rep" --mode handshake --connections 20 \
    --duration "$DURATION" --warmup "$WARMUP"
  if [ "$config" = wsgate ] || [ "$config" = wsgate2 ]; then
    measure "$config" hsrs256 "$rep" --mode handshake --connections 20 --path /rs256/echo \
      --headers-file "$AUTH_DIR/rs.headers" --duration "$DURATION" --warmup "$WARMUP"
    measure "$config" hses256 "$rep" --mode handshake --connections 20 --path /es256/echo \
      --headers-file "$AUTH_DIR/es.headers" --duration "$DURATION" --warmup "$WARMUP"
    measure "$config" hsrs256c "$rep" --mode handshake --connections 20 --path /rs256/echo \
      --header "Authorization: Bearer $RS_TOKEN" --duration "$DURATION" --warmup "$WARMUP"
    measure "$config" hses256c "$rep" --mode handshake --connections 20 --path /es256/echo \
      --header "Authorization: Bearer $ES_TOKEN" --duration "$DURATION" --warmup "$WARMUP"
  fi
  measure "$config" flood "$rep" --mode flood --connections 1 --size 64KiB --flood-bytes 1GiB \
    --duration "$FLOOD_DURATION" --warmup "$WARMUP"
  if [ "$config" != direct ]; then
    measure "$config" idle "$rep" --mode idle --connections "$IDLE_CONNS" --duration "$IDLE_HOLD"
  fi
  measure "$config" echo64kz "$rep" --mode echo --connections 10 --size 64KiB --text \
    --content json --deflate takeover --duration "$DURATION" --warmup "$WARMUP"
  if [ "$config" != direct ]; then
    # Each on a fresh proxy process, like wssidle, so no test reuses the heap another freed.
    local z mode
    for z in idlez:takeover idlezn:no-context; do
      mode=${z#*:} z=${z%%:*}
      selected "$z" || continue
      check_alive "$config" "$rep"
      stop_proxy
      start_proxy "$config" "$z"
      measure "$config" "$z" "$rep" --mode idle --connections "$IDLE_CONNS" \
        --duration "$IDLE_HOLD" --deflate "$mode"
    done
  fi
  if [ "$config" != direct ] && selected_any wss64 wsshs wssres wssidle; then
    # wss, on a fresh proxy process (so the wss idle test does not reuse the heap the plain one
    # freed). The backend has no TLS, so there is no direct column.
    check_alive "$config" "$rep"
    stop_proxy
    start_proxy "$config" tls
    measure "$config" wss64 "$rep" --port "$TLS_PORT" --tls --mode echo --connections 100 \
      --size 64 --text --duration "$DURATION" --warmup "$WARMUP"
    measure "$config" wsshs "$rep" --port "$TLS_PORT" --tls --mode handshake --connections 20 \
      --duration "$DURATION" --warmup "$WARMUP"
    measure "$config" wssres "$rep" --port "$TLS_PORT" --tls-resume --mode handshake \
      --connections 20 --duration "$DURATION" --warmup "$WARMUP"
    measure "$config" wssidle "$rep" --port "$TLS_PORT" --tls-resume --mode idle \
      --connections "$IDLE_CONNS" --duration "$IDLE_HOLD"
  fi
  check_alive "$config" "$rep"
  stop_proxy
}

run_all() {
  local configs order rep i
  read -r -a configs <<<"$CONFIGS"
  printf '{"run":"wsgate-bench","date":"%s","cores":%s,"cpu":"%s","reps":%s,"duration_s":%s,"nginx":"%s","haproxy":"%s","wsgate":"%s","loadavg":"%s"}\n' \
    "$(date -u +%Y-%m-%dT%H:%MZ)" "$(nproc)" \
    "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)" "$REPS" "$DURATION" \
    "$(nginx -v 2>&1 | sed 's/.*nginx\///')" "$(haproxy -v 2>/dev/null | head -1 | cut -d' ' -f3)" \
    "$("$WSGATE" --version | cut -d' ' -f2)" "$(cut -d' ' -f1-3 /proc/loadavg)" >"$RESULTS"
  log "results: $RESULTS"
  log "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  for ((rep = 1; rep <= REPS; rep++)); do
    # Rotate the order so no configuration always runs first (or last) on a warming machine.
    order=()
    for ((i = 0; i < ${#configs[@]}; i++)); do
      order+=("${configs[$(((i + rep - 1) % ${#configs[@]}))]}")
    done
    log "repetition $rep/$REPS: ${order[*]}"
    for config in "${order[@]}"; do run_config "$config" "$rep"; done
  done
  stop_pid "$ECHO_PID"
  for pid in "${EXTRA_ECHO_PIDS[@]}"; do stop_pid "$pid"; done
}

run_all
print_table "$RESULTS"
echo
echo "raw results: $RESULTS"
if write_chart "$RESULTS" "${RESULTS%.jsonl}.svg"; then
  echo "chart: ${RESULTS%.jsonl}.svg"
else
  log "the chart could not be written"
fi
