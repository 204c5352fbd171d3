#!/bin/sh
# wsgate-healthcheck: the image's HEALTHCHECK. Exits 0 when wsgate answers 200 on /livez of the
# admin listener of the configuration it runs with, 1 otherwise; the port is read from that
# configuration, never written here.
#
#   wsgate-healthcheck [CONFIG]          check
#   wsgate-healthcheck --url [CONFIG]    print the URL it would ask, and exit
#
# CONFIG is the argument, else $WSGATE_CONFIG, else the -c/--config FILE of the running wsgate
# process (read from /proc/PID/cmdline, so `docker run IMAGE -c /other.toml` is followed too:
# the process $WSGATE_PID, else PID 1 when it is wsgate, else the first wsgate process, as
# under `docker run --init`), else /etc/wsgate/wsgate.toml.
#
# The admin address is the `listen` key of the [admin] table (also written `admin.listen = ...`
# or `admin = { listen = ... }` at the top level), found with awk: comments, blank lines,
# whitespace and either quote style are allowed. Without one it is wsgate's default,
# 127.0.0.1:9901. A wildcard host (0.0.0.0, [::]) is asked on the loopback address.
set -eu

print_url=0
if [ "${1:-}" = --url ]; then
  print_url=1
  shift
fi

# The config file of the running wsgate, from its command line in /proc.
running_config() {
  if [ -n "${WSGATE_PID:-}" ]; then
    candidates=/proc/$WSGATE_PID
  else
    candidates="/proc/1 $(echo /proc/[0-9]*)"
  fi
  for dir in $candidates; do
    [ -r "$dir/cmdline" ] || continue
    file=$(tr '\0' '\n' <"$dir/cmdline" 2>/dev/null | awk '
      NR == 1 { n = split($0, p, "/"); if (p[n] != "wsgate") exit; next }
      prev == "-c" || prev == "--config" { print; exit }
      /^--config=/ { sub(/^--config=/, ""); print; exit }
      { prev = $0 }') || continue
    [ -n "$file" ] || continue
    case $file in
    /*) echo "$file" ;;
    *) echo "$dir/cwd/$file" ;;
    esac
    return 0
  done
  return 1
}

config=${1:-${WSGATE_CONFIG:-}}
if [ -z "$config" ]; then
  config=$(running_config) || config=/etc/wsgate/wsgate.toml
fi
[ -r "$config" ] || {
  echo "wsgate-healthcheck: cannot read $config" >&2
  exit 1
}

listen=$(awk '
  function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t\r]+$/, "", s); return s }
  # The value of a quoted TOML string at the start of s ("" when s does not start with one).
  function unquote(s,   q, end) {
    q = substr(s, 1, 1)
    if (q != "\"" && q != "'\''") return ""
    end = index(substr(s, 2), q)
    return end ? substr(s, 2, end - 1) : ""
  }
  # The line without its comment: a # outside a string.
  function uncomment(s,   out, q, i, c) {
    out = ""; q = ""
    for (i = 1; i <= length(s); i++) {
      c = substr(s, i, 1)
      if (q == "" && c == "#") break
      if (q == "" && (c == "\"" || c == "'\''")) q = c
      else if (q == "\"" && c == "\\") { out = out c; i++; c = substr(s, i, 1) }
      else if (c == q) q = ""
      out = out c
    }
    return out
  }
  {
    line = trim(uncomment($0))
    if (line == "") next
    if (substr(line, 1, 2) == "[[") { table = "[]"; next } # an array of tables
    if (substr(line, 1, 1) == "[") {
      table = line; gsub(/[\[\] \t"'\'']/, "", table); next
    }
    if (table == "admin" && match(line, /^"?listen"?[ \t]*=[ \t]*/)) {
      print unquote(substr(line, RLENGTH + 1)); found = 1; exit
    }
    if (table == "" && match(line, /^admin[ \t]*\.[ \t]*listen[ \t]*=[ \t]*/)) {
      print unquote(substr(line, RLENGTH + 1)); found = 1; exit
    }
    if (table == "" && line ~ /^admin[ \t]*=[ \t]*\{/ &&
        match(line, /[{, \t]listen[ \t]*=[ \t]*/)) {
      print unquote(substr(line, RSTART + RLENGTH)); found = 1; exit
    }
  }
  END { if (!found) print "127.0.0.1:9901" }' "$config")

host=${listen%:*}
port=${listen##*:}
case $host in
0.0.0.0 | "") host=127.0.0.1 ;;
"[::]") host="[::1]" ;;
esac
case $port in
'' | *[!0-9]* | 0)
  echo "wsgate-healthcheck: no usable [admin] listen port in $config ('$listen')" >&2
  exit 1
  ;;
esac
url="http://$host:$port/livez"
if [ "$print_url" = 1 ]; then
  echo "$url"
  exit 0
fi
exec curl -fsS -o /dev/null --max-time 3 "$url"
