#!/usr/bin/env bash
# The production build: tsc compiles the hub services, the edge and the workspaces they import
# (tsconfig.build.json) into .build/, then each workspace's compiled src/ becomes its dist/, which
# its package.json names under the "daalu-dist" export condition. Run a service compiled:
#   node --conditions=daalu-dist --enable-source-maps services/<name>/dist/main.js
# The container images run exactly this (deploy/*.Dockerfile); tests and the devhub keep tsx.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .build
npx tsc -p tsconfig.build.json
for ws in packages/proto packages/runtime packages/wireguard packages/rbac services/* edge; do
  [ -d ".build/$ws/src" ] || { echo "build: nothing compiled for $ws" >&2; exit 1; }
  rm -rf "$ws/dist"
  mv ".build/$ws/src" "$ws/dist"
done
rm -rf .build
echo "build: compiled to {packages/proto,packages/runtime,packages/wireguard,packages/rbac,services/*,edge}/dist"
