#!/bin/bash
# Installation and packaging, end to end:
#   make install DESTDIR=... installs exactly the expected files; the systemd unit has the
#   keys the service needs (and systemd-analyze verifies it); `wsgate -t` accepts the
#   installed config; the man pages render without warnings;
#   the Debian package (the same CPack rules as `make deb`, run on this build directory)
#   holds exactly the expected files, marks the config files as conffiles, and lintian
#   reports no errors.
#
# usage: package_test.sh BUILD_DIR REPO_ROOT
set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR REPO_ROOT" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
root=$(cd "$2" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# expect_same WHAT EXPECTED_FILE ACTUAL_FILE
expect_same() {
  if ! diff -u "$2" "$3" >"$work/diff"; then
    fail "$1 differs:"
    cat "$work/diff" >&2
  fi
}

# --- make install ---------------------------------------------------------------------------
dest=$work/root
if ! make -C "$root" --no-print-directory install BUILD_DIR="$build" DESTDIR="$dest" \
  PREFIX=/usr/local >"$work/install.log" 2>&1; then
  fail "make install failed:"
  cat "$work/install.log" >&2
fi
cat >"$work/install.expected" <<'EOF'
etc/logrotate.d/wsgate
etc/wsgate/wsgate.toml
lib/systemd/system/wsgate.service
usr/local/sbin/wsgate
usr/local/share/doc/wsgate/README.md
usr/local/share/doc/wsgate/changelog.gz
usr/local/share/doc/wsgate/configuration.md
usr/local/share/doc/wsgate/copyright
usr/local/share/man/man5/wsgate.toml.5.gz
usr/local/share/man/man8/wsgate.8.gz
EOF
(cd "$dest" 2>/dev/null && find . \( -type f -o -type l \) | sed 's|^\./||' | LC_ALL=C sort) \
  >"$work/install.actual"
expect_same "the installed files" "$work/install.expected" "$work/install.actual"

unit=$dest/lib/systemd/system/wsgate.service
for key in \
  'Type=notify' \
  'NotifyAccess=main' \
  'ExecStart=/usr/local/sbin/wsgate -c /etc/wsgate/wsgate.toml' \
  'ExecReload=/usr/local/sbin/wsgate -t -c /etc/wsgate/wsgate.toml' \
  'ExecReload=/bin/kill -HUP $MAINPID' \
  'KillSignal=SIGTERM' \
  'TimeoutStopSec=45s' \
  'LimitNOFILE=1048576' \
  'DynamicUser=yes' \
  'NoNewPrivileges=yes' \
  'ProtectSystem=strict' \
  'ProtectHome=yes' \
  'PrivateTmp=yes' \
  'AmbientCapabilities=CAP_NET_BIND_SERVICE' \
  'CapabilityBoundingSet=CAP_NET_BIND_SERVICE' \
  'WantedBy=multi-user.target'; do
  grep -qxF "$key" "$unit" 2>/dev/null || fail "the unit has no line '$key'"
done
# TimeoutStopSec above the installed config's drain_timeout.
drain=$(sed -n 's/^drain_timeout = "\([0-9]*\)s".*/\1/p' "$dest/etc/wsgate/wsgate.toml")
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' "$unit")
if [ -z "$drain" ] || [ -z "$stop" ] || [ "$stop" -le "$drain" ]; then
  fail "TimeoutStopSec ($stop s) is not above drain_timeout ($drain s)"
fi
# systemd's own check, with the binary at its DESTDIR path.
sed "s|/usr/local/sbin/wsgate|$dest/usr/local/sbin/wsgate|" "$unit" >"$work/wsgate.service"
if ! systemd-analyze verify --man=no "$work/wsgate.service" >"$work/verify" 2>&1 ||
  [ -s "$work/verify" ]; then
  fail "systemd-analyze verify: $(cat "$work/verify")"
fi

out=$("$dest/usr/local/sbin/wsgate" -t -c "$dest/etc/wsgate/wsgate.toml" 2>&1)
[ "$out" = "configuration OK" ] || fail "wsgate -t on the installed config: $out"

for page in man8/wsgate.8.gz man5/wsgate.toml.5.gz; do
  warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$dest/usr/local/share/man/$page" 2>&1 \
    >/dev/null)
  [ -z "$warnings" ] || fail "man $page: $warnings"
done
LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$dest/usr/local/share/man/man5/wsgate.toml.5.gz" 2>/dev/null |
  grep -q '^       admin.request_timeout$' || fail "wsgate.toml(5) has no admin.request_timeout entry"

# --- the Debian package ---------------------------------------------------------------------
if ! cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/deb" >"$work/cpack.log" 2>&1; then
  fail "cpack failed:"
  cat "$work/cpack.log" >&2
fi
deb=$(ls "$work"/deb/wsgate_*.deb 2>/dev/null | head -n 1)
if [ -z "$deb" ]; then
  fail "no package in $work/deb"
else
  cat >"$work/deb.expected" <<'EOF'
./etc/
./etc/logrotate.d/
./etc/logrotate.d/wsgate
./etc/wsgate/
./etc/wsgate/wsgate.toml
./lib/
./lib/systemd/
./lib/systemd/system/
./lib/systemd/system/wsgate.service
./usr/
./usr/sbin/
./usr/sbin/wsgate
./usr/share/
./usr/share/doc/
./usr/share/doc/wsgate/
./usr/share/doc/wsgate/README.md
./usr/share/doc/wsgate/changelog.gz
./usr/share/doc/wsgate/configuration.md
./usr/share/doc/wsgate/copyright
./usr/share/man/
./usr/share/man/man5/
./usr/share/man/man5/wsgate.toml.5.gz
./usr/share/man/man8/
./usr/share/man/man8/wsgate.8.gz
EOF
  dpkg-deb -c "$deb" | awk '{print $6}' | LC_ALL=C sort >"$work/deb.actual"
  expect_same "the package's files (dpkg-deb -c)" "$work/deb.expected" "$work/deb.actual"
  dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles >"$work/conffiles" 2>/dev/null
  printf '/etc/wsgate/wsgate.toml\n/etc/logrotate.d/wsgate\n' >"$work/conffiles.expected"
  expect_same "conffiles" "$work/conffiles.expected" "$work/conffiles"
  [ "$(dpkg-deb -f "$deb" Package)" = wsgate ] || fail "Package: $(dpkg-deb -f "$deb" Package)"
  dpkg-deb -f "$deb" Depends | grep -q 'libuv1' || fail "Depends: $(dpkg-deb -f "$deb" Depends)"
  dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./lib/systemd/system/wsgate.service |
    grep -qxF 'ExecStart=/usr/sbin/wsgate -c /etc/wsgate/wsgate.toml' ||
    fail "the packaged unit does not start /usr/sbin/wsgate"
  lintian --tag-display-limit 0 "$deb" >"$work/lintian" 2>&1
  echo "lintian $(basename "$deb"):"
  sed 's/^/  /' "$work/lintian"
  if grep -q '^E: ' "$work/lintian"; then
    fail "lintian reports errors"
  fi
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures package check(s) failed" >&2
  exit 1
fi
echo "all package checks passed"
