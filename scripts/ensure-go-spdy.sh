#!/usr/bin/env bash
# Builds the SPDY/3.1 translator of the API-server double (packages/kube-double/spdy) into
# packages/kube-double/spdy/bin/kube-spdy-bridge (git-ignored). Go and the two libraries come
# from Debian, offline: golang-go, golang-github-docker-spdystream-dev (moby/spdystream, the SPDY
# implementation k8s.io/apimachinery uses) and golang-github-gorilla-websocket-dev, built in GOPATH
# mode against /usr/share/gocode, so nothing is downloaded from the Go module proxy.
# Idempotent; does nothing when the binary is newer than every Go source file.
set -euo pipefail
cd "$(dirname "$0")/.."

src=packages/kube-double/spdy
dest=$src/bin/kube-spdy-bridge
gocode=/usr/share/gocode

if [ -x "$dest" ] && [ -z "$(find "$src" -maxdepth 1 -name '*.go' -newer "$dest")" ]; then exit 0; fi

missing=()
command -v go >/dev/null 2>&1 || missing+=(golang-go)
[ -d "$gocode/src/github.com/moby/spdystream" ] || missing+=(golang-github-docker-spdystream-dev)
[ -d "$gocode/src/github.com/gorilla/websocket" ] || missing+=(golang-github-gorilla-websocket-dev)
if [ ${#missing[@]} -gt 0 ]; then
  echo "ensure-go-spdy: installing ${missing[*]} (Debian packages)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p "$src/bin"
GO111MODULE=off GOPATH="$gocode" GOFLAGS= go build -trimpath -o "$dest.tmp" "./$src"
mv "$dest.tmp" "$dest"
echo "ensure-go-spdy: built $dest"
