#!/usr/bin/env bash
# `make run`: the demo echo backend on 127.0.0.1:9001 and wsgate with conf/wsgate.toml in front
# of it. Ctrl-C (or SIGTERM) stops both: wsgate drains, then the backend exits.
set -euo pipefail

build=${1:-build}
config=${WSGATE_CONFIG:-conf/wsgate.toml}
echo_bin=$build/tests/echo/wsgate-echo
wsgate_bin=$build/wsgate

for bin in "$echo_bin" "$wsgate_bin"; do
  [ -x "$bin" ] || { echo "run: $bin is missing; build first (make build)" >&2; exit 1; }
done
"$wsgate_bin" -t -c "$config" >/dev/null

echo_pid=""
wsgate_pid=""
stop() {
  trap - INT TERM EXIT
  [ -n "$wsgate_pid" ] && kill -TERM "$wsgate_pid" 2>/dev/null && wait "$wsgate_pid" 2>/dev/null
  [ -n "$echo_pid" ] && kill -TERM "$echo_pid" 2>/dev/null && wait "$echo_pid" 2>/dev/null
  echo "run: stopped"
}
trap stop INT TERM EXIT

"$echo_bin" --host 127.0.0.1 --port 9001 &
echo_pid=$!
"$wsgate_bin" -c "$config" &
wsgate_pid=$!

# Wait until wsgate answers on its admin port (bounded: 10 s).
admin=$(sed -n '/^\[admin\]/,/^\[/{s/^listen *= *"\([^"]*\)".*/\1/p}' "$config" | head -n 1)
for _ in $(seq 1 100); do
  curl -sf "http://$admin/readyz" >/dev/null 2>&1 && break
  kill -0 "$wsgate_pid" 2>/dev/null || { echo "run: wsgate exited" >&2; exit 1; }
  sleep 0.1
done
listen=$(sed -n '/^\[\[listeners\]\]/,/^\[/{s/^listen *= *"\([^"]*\)".*/\1/p}' "$config" | head -n 1)
cat <<MSG

wsgate is running in front of the demo echo backend (127.0.0.1:9001).
  connect:  ws://$listen/echo
            e.g. /usr/bin/python3 -m websockets ws://$listen/echo   (type a line, see it echoed)
  admin:    http://$admin/livez  http://$admin/readyz  http://$admin/metrics  http://$admin/connections
Press Ctrl-C to stop.

MSG
wait "$wsgate_pid"
