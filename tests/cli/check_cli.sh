#!/bin/sh
# Checks the wsgate command line end to end: version, --check on the shipped example,
# a broken config (exit 1 with FILE:LINE:COL: lines), usage errors (exit 2).
#
# usage: check_cli.sh WSGATE_BINARY REPO_ROOT
set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 WSGATE_BINARY REPO_ROOT" >&2
  exit 2
fi
wsgate=$1
root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# run EXPECTED_STATUS ARGS...: runs wsgate, keeping stdout and stderr in $work.
run() {
  expected=$1
  shift
  "$wsgate" "$@" >"$work/out" 2>"$work/err"
  status=$?
  if [ "$status" -ne "$expected" ]; then
    fail "wsgate $* exited $status, expected $expected"
    sed 's/^/  stdout: /' "$work/out" >&2
    sed 's/^/  stderr: /' "$work/err" >&2
  fi
}

# --version: exactly one line, "wsgate X.Y.Z".
run 0 --version
if [ "$(wc -l <"$work/out")" -ne 1 ] || ! grep -Eq '^wsgate [0-9]+\.[0-9]+\.[0-9]+$' "$work/out"; then
  fail "--version printed: $(cat "$work/out")"
fi

# --help: usage on stdout.
run 0 --help
grep -q '^usage: wsgate' "$work/out" || fail "--help printed no usage"

# The shipped example passes --check, in every spelling.
run 0 -t -c "$root/conf/wsgate.toml"
[ "$(cat "$work/out")" = "configuration OK" ] || fail "-t printed: $(cat "$work/out")"
[ -s "$work/err" ] && fail "-t wrote to stderr: $(cat "$work/err")"
run 0 --check --config "$root/conf/wsgate.toml"
[ "$(cat "$work/out")" = "configuration OK" ] || fail "--check printed: $(cat "$work/out")"
run 0 --check --config="$root/conf/wsgate.toml"

# A broken config: exit 1, one FILE:LINE:COL: line per error on stderr, nothing on stdout.
cat >"$work/bad.toml" <<'TOML'
[server]
workerz = 2
[[listeners]]
name = "public"
listen = "127.0.0.1:8080"
[[routes]]
listener = "public"
pool = "chat"
TOML
run 1 -t -c "$work/bad.toml"
grep -qx "$work/bad.toml:2:1: server.workerz: unknown key \"workerz\" (did you mean \"workers\"?)" \
  "$work/err" || fail "no unknown-key line: $(cat "$work/err")"
grep -qx "$work/bad.toml:8:8: routes\[0\].pool: no pool named \"chat\"" "$work/err" ||
  fail "no missing-pool line: $(cat "$work/err")"
[ "$(wc -l <"$work/err")" -eq 2 ] || fail "expected 2 error lines: $(cat "$work/err")"
[ -s "$work/out" ] && fail "a failed check wrote to stdout: $(cat "$work/out")"

# Running (not checking) an invalid config fails the same way.
run 1 -c "$work/bad.toml"
grep -q "^$work/bad.toml:2:1: " "$work/err" || fail "run printed: $(cat "$work/err")"

# A TOML syntax error and a missing file.
printf 'listeners = [\n' >"$work/syntax.toml"
run 1 -t -c "$work/syntax.toml"
grep -Eq "^$work/syntax.toml:[0-9]+:[0-9]+: " "$work/err" || fail "syntax error: $(cat "$work/err")"
run 1 -t -c "$work/missing.toml"
grep -q "^$work/missing.toml: cannot open" "$work/err" || fail "missing file: $(cat "$work/err")"

# Usage errors: exit 2 with the usage on stderr.
run 2 --bogus
grep -q 'unknown option --bogus' "$work/err" || fail "unknown option: $(cat "$work/err")"
grep -q '^usage: wsgate' "$work/err" || fail "no usage after an unknown option"
run 2 -t -c
run 2 --config=

# Without -c: /etc/wsgate/wsgate.toml, the same as naming it.
if [ -e /etc/wsgate/wsgate.toml ]; then
  "$wsgate" -t -c /etc/wsgate/wsgate.toml >"$work/named" 2>&1
  named=$?
  "$wsgate" -t >"$work/default" 2>&1
  [ $? -eq "$named" ] && cmp -s "$work/named" "$work/default" ||
    fail "-t without -c differs from -t -c /etc/wsgate/wsgate.toml"
else
  run 1 -t
  [ "$(cat "$work/err")" = "/etc/wsgate/wsgate.toml: cannot open: No such file or directory" ] ||
    fail "-t without -c: $(cat "$work/err")"
fi
# --help is complete: every option, the default path, the signals, NOTIFY_SOCKET.
run 0 --help
for word in -c --config -t --check --version --help /etc/wsgate/wsgate.toml SIGTERM SIGQUIT \
  SIGINT SIGHUP SIGUSR1 NOTIFY_SOCKET 'exit status' 'man 8 wsgate'; do
  grep -qF -- "$word" "$work/out" || fail "--help does not mention $word"
done

if [ "$failures" -ne 0 ]; then
  echo "$failures CLI check(s) failed" >&2
  exit 1
fi
echo "all CLI checks passed"
