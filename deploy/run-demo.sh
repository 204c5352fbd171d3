#!/usr/bin/env bash
# `make run`: the demo echo backend on a free loopback port and wsgate with conf/wsgate.toml in
# front of it (the config's demo backend "127.0.0.1:9001" is replaced by the echo's real
# address in a copy under BUILD/demo/). Ctrl-C (or SIGTERM) stops both: wsgate drains (every
# client gets close 1001), then the backend exits, and the script exits 0.
#
# usage: deploy/run-demo.sh [BUILD_DIR]
#   WSGATE_CONFIG     the configuration to start from (default conf/wsgate.toml)
#   WSGATE_ECHO_PORT  the echo backend's port (default 0: any free port)
#
# On a terminal, the script runs itself again as a foreground job of its own process group,
# and that copy runs each child in a process group of its own: the terminal's Ctrl-C, whenever
# it comes, reaches only the script (or the `tail` it waits in), never wsgate (which would stop
# at once, 1006 to its clients) nor make (which would exit with an error). The script then sends
# wsgate SIGTERM and waits for its drain; a second Ctrl-C sends another SIGTERM (stop now).
set -euo pipefail

if [ -t 0 ] && [ -z "${WSGATE_DEMO_INNER:-}" ]; then
  set -m
  status=0
  WSGATE_DEMO_INNER=1 bash "${BASH_SOURCE[0]}" "$@" || status=$?
  exit "$status"
fi

build=${1:-build}
config=${WSGATE_CONFIG:-conf/wsgate.toml}
echo_port=${WSGATE_ECHO_PORT:-0}
echo_bin=$build/tests/echo/wsgate-echo
wsgate_bin=$build/wsgate
demo_backend='"127.0.0.1:9001"'

for bin in "$echo_bin" "$wsgate_bin"; do
  [ -x "$bin" ] || { echo "run: $bin is missing; build first (make build)" >&2; exit 1; }
done
"$wsgate_bin" -t -c "$config" >/dev/null
work=$build/demo
mkdir -p "$work"

[ -t 0 ] && set -m # job control: children in their own process groups, `tail` in the foreground

echo_pid=""
wsgate_pid=""
status=0
# wait_for PID: its exit status, waiting again when a trapped signal interrupts `wait`.
wait_for() {
  local rc=0
  while :; do
    rc=0
    wait "$1" 2>/dev/null || rc=$?
    if [ "$rc" -gt 128 ] && kill -0 "$1" 2>/dev/null; then continue; fi
    return "$rc"
  done
}
stop() {
  trap - EXIT
  trap '[ -n "$wsgate_pid" ] && kill -TERM "$wsgate_pid" 2>/dev/null' INT TERM
  set +m # no "Terminated" job notices
  if [ -n "$wsgate_pid" ] && kill -TERM "$wsgate_pid" 2>/dev/null; then
    wait_for "$wsgate_pid" || status=$?
  fi
  if [ -n "$echo_pid" ] && kill -TERM "$echo_pid" 2>/dev/null; then
    wait "$echo_pid" 2>/dev/null || true
  fi
  echo "run: stopped"
  exit "$status"
}
trap stop INT TERM EXIT

# The echo backend prints "listening ADDR:PORT" once it accepts connections.
# The file exists (empty) before the backend starts: the background job opens it for its
# output only once it runs, and the loop below must not read a file that is not there yet.
: >"$work/echo.out"
"$echo_bin" --host 127.0.0.1 --port "$echo_port" >"$work/echo.out" &
echo_pid=$!
echo_addr=""
for _ in $(seq 1 100); do
  echo_addr=$(sed -n 's/^listening //p' "$work/echo.out")
  [ -n "$echo_addr" ] && break
  kill -0 "$echo_pid" 2>/dev/null || {
    echo_pid=""
    status=1
    echo "run: the demo echo backend did not start (port $echo_port taken?)" >&2
    exit 1
  }
  sleep 0.1
done
[ -n "$echo_addr" ] || { status=1; echo "run: the demo echo backend did not start" >&2; exit 1; }

# The demo's copy of the config sends the demo backend's traffic to the echo just started.
grep -qF "$demo_backend" "$config" || {
  status=1
  echo "run: $config has no backend $demo_backend to replace with the demo echo ($echo_addr)" >&2
  exit 1
}
demo_config=$work/wsgate.toml
sed "s/\"127\.0\.0\.1:9001\"/\"$echo_addr\"/g" "$config" >"$demo_config"

"$wsgate_bin" -c "$demo_config" &
wsgate_pid=$!

# Wait until wsgate answers on its admin port (bounded: 10 s). A listener address that is
# taken stops wsgate with `listen_failed ... address already in use`, which it logs.
admin=$(sed -n '/^\[admin\]/,/^\[/{s/^listen *= *"\([^"]*\)".*/\1/p}' "$demo_config" | head -n 1)
admin=${admin:-127.0.0.1:9901}
ready=0
for _ in $(seq 1 100); do
  curl -sf "http://$admin/readyz" >/dev/null 2>&1 && { ready=1; break; }
  kill -0 "$wsgate_pid" 2>/dev/null || break
  sleep 0.1
done
if [ "$ready" != 1 ]; then
  wait "$wsgate_pid" 2>/dev/null || true
  wsgate_pid=""
  status=1
  echo "run: wsgate did not start (its log above says why)" >&2
  exit 1
fi
listen=$(sed -n '/^\[\[listeners\]\]/,/^\[/{s/^listen *= *"\([^"]*\)".*/\1/p}' "$demo_config" |
  head -n 1)
banner=$(
  cat <<MSG

wsgate is running in front of the demo echo backend ($echo_addr).
  connect:  ws://$listen/echo
            e.g. /usr/bin/python3 -m websockets ws://$listen/echo   (type a line, see it echoed)
  admin:    http://$admin/livez  http://$admin/readyz  http://$admin/metrics  http://$admin/connections
  config:   $demo_config (from $config)
Press Ctrl-C to stop.
MSG
)
# The foreground job prints the banner, then waits in `tail` until wsgate exits: it has the
# terminal before the banner appears, so a Ctrl-C after the banner is its alone. It returns
# when wsgate exits, or on Ctrl-C.
bash -c 'printf "%s\n\n" "$1"; exec tail --pid="$2" -f /dev/null' banner "$banner" "$wsgate_pid" ||
  true
if ! kill -0 "$wsgate_pid" 2>/dev/null; then
  wait_for "$wsgate_pid" || status=$?
  wsgate_pid=""
  echo "run: wsgate exited (status $status)" >&2
fi
stop
