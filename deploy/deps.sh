#!/usr/bin/env bash
# Installs what wsgate needs to build and test, from Debian 12 packages (and npm for the
# Node test peers), only when something is missing so repeated runs are quick.
#   deploy/deps.sh run     what `make run` needs: gcc, cmake and the libraries of wsgate and
#                          the demo echo backend, curl, and Python websockets as a demo client
#   deploy/deps.sh build   the above plus clang, GoogleTest and Google Benchmark (every target)
#   deploy/deps.sh test    the above plus test peers (Node, Chromium, Prometheus, openssl,
#                          lintian for the package test, ...)
set -euo pipefail

mode=${1:-test}
case "$mode" in
run | build | test) ;;
*)
  echo "usage: $0 run|build|test" >&2
  exit 2
  ;;
esac
run_pkgs=(build-essential cmake pkg-config libuv1-dev liburing-dev node-llhttp libssl-dev libtomlplusplus-dev
  zlib1g-dev
  prometheus-cpp-dev curl python3 python3-websockets)
# JWT headers, claims and JWKS files (common/auth/).
run_pkgs+=(nlohmann-json3-dev)
build_pkgs=(clang googletest libgtest-dev libgmock-dev libbenchmark-dev)
test_pkgs=(python3-yaml python3-cryptography openssl procps iproute2 chromium prometheus lintian systemd)

want=("${run_pkgs[@]}")
[ "$mode" != run ] && want+=("${build_pkgs[@]}")
[ "$mode" = test ] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js may come from another Debian repository that bundles npm; only ask for it when absent.
if [ "$mode" = test ]; then
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages and not root; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Packages such as prometheus and nginx ship a service: tell apt not to start it (tests start
  # only instances of their own). A policy-rc.d that exists already is left alone.
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    made_policy=1
  fi
  status=0
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    status=$?
  [ "$made_policy" = 1 ] && rm -f "$policy"
  exit "$status"
fi
