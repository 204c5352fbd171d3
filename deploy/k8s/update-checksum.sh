#!/bin/sh
# deploy/k8s/update-checksum.sh FILE.yaml...
#
# Sets the checksum/config annotation of each file's pod template to the SHA-256 of its
# ConfigMap's wsgate.toml, so that `kubectl apply` after a configuration change rolls the pods
# out (Kubernetes does not restart pods when a mounted ConfigMap changes). The block is read as
# YAML reads a literal block scalar (`wsgate.toml: |`): its lines without their indentation,
# each ending in a newline, trailing blank lines dropped. make test checks the annotations
# (tests/integration/metrics.test.mjs, with a YAML parser).
set -eu
[ $# -gt 0 ] || {
  echo "usage: $0 FILE.yaml..." >&2
  exit 2
}
for file in "$@"; do
  sum=$(awk '
    /^  wsgate\.toml: \|/ { inside = 1; next }
    inside && /^[^ ]/ && $0 != "" { exit }
    inside {
      if ($0 ~ /^[ \t]*$/) { blank++; next }
      if (indent == "") { match($0, /^ +/); indent = RLENGTH }
      if (match($0, /^ +/) == 0 || RLENGTH < indent) exit
      while (blank > 0) { print ""; blank-- }
      print substr($0, indent + 1)
    }' "$file" | sha256sum | cut -d' ' -f1)
  sed -i "s|^\(        checksum/config: \)\".*\"|\1\"$sum\"|" "$file"
  echo "$file: checksum/config $sum"
done
