#!/bin/bash
# usage: h.sh IO LEVEL SECONDS
S=/work/wt-18/.scratch
B=/work/wt-18/build
cat > $S/h.toml <<EOT
[server]
workers = 1
io = "$1"
drain_timeout = "1s"
[admin]
listen = "127.0.0.1:0"
[log]
access_log = "stderr"
level = "$2"
[[listeners]]
name = "public"
listen = "127.0.0.1:19002"
[[routes]]
listener = "public"
pool = "echo"
[[pools]]
name = "echo"
backends = ["127.0.0.1:19001"]
[policies.default]
ping_interval = "0s"
EOT
$B/tests/echo/wsgate-echo --port 19001 > $S/echo.log 2>&1 & epid=$!
$B/wsgate -c $S/h.toml 2> $S/h.err & gpid=$!
sleep 0.5
$B/tests/bench/loadgen/wsgate-bench --mode handshake --port 19002 --connections 20 --duration $3 --warmup 0.2
kill -TERM $gpid; wait $gpid; kill $epid; wait $epid
