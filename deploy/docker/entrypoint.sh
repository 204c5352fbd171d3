#!/bin/sh
# wsgate-entrypoint: the image's ENTRYPOINT. Runs wsgate with the arguments given (the image's
# CMD is `-c /etc/wsgate/wsgate.toml`), as PID 1 (exec), so SIGTERM from `docker stop` or
# Kubernetes reaches wsgate and drains.
#
# When the configuration to run is the image's own demo file (nothing mounted over
# /etc/wsgate/wsgate.toml), it first starts the demo backend, wsgate-echo on 127.0.0.1:9001,
# which that file routes to: `docker run -p 8080:8080 IMAGE` then echoes on
# ws://127.0.0.1:8080/ at once. Mount your own file at /etc/wsgate/wsgate.toml (or pass
# `-c FILE`) and only wsgate runs.
set -eu

DEMO=/usr/share/wsgate/demo.toml
config=""
check=0
prev=""
for arg in "$@"; do
  case $prev in -c | --config) config=$arg ;; esac
  case $arg in
  --config=*) config=${arg#--config=} ;;
  -t | --check) check=1 ;;
  esac
  prev=$arg
done

if [ "$check" = 0 ] && [ -n "$config" ] && cmp -s "$config" "$DEMO"; then
  echo "wsgate-entrypoint: $config is the image's demo configuration: starting the demo" \
    "backend (wsgate-echo on 127.0.0.1:9001) behind wsgate on :8080; mount your own" \
    "configuration at /etc/wsgate/wsgate.toml to proxy your backends" >&2
  /usr/local/bin/wsgate-echo --host 127.0.0.1 --port 9001 >/dev/null &
fi
exec /usr/local/bin/wsgate "$@"
