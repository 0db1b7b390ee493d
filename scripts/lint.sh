#!/usr/bin/env bash
# npm run lint: the boundaries the architecture states, enforced by tools. Every check runs
# (so one run lists every finding), then the script fails if any failed. Each is also
# `npm run lint:eslint|lint:deps|lint:knip|lint:dup` alone.
#   eslint            type-aware promise rules (eslint.config.js)
#   dependency-cruiser import boundaries: pure domain/, package entries only, no cycles (.dependency-cruiser.cjs)
#   knip              unlisted/unused dependencies, unused files and exports (knip.json); its --strict pass
#                     checks production code against each workspace's own manifest only (no hoisting)
#   jscpd             copy-paste above the threshold in .jscpd.json
set -uo pipefail
cd "$(dirname "$0")/.."
export FORCE_COLOR=0 NO_COLOR=1

failed=()
check() {
  local name="$1"; shift
  local start=$SECONDS
  echo "== lint: $name"
  if "$@"; then echo "-- $name: ok ($((SECONDS - start)) s)"; else echo "-- $name: FAILED ($((SECONDS - start)) s)"; failed+=("$name"); fi
}

check eslint npm run -s lint:eslint
check dependency-cruiser npm run -s lint:deps
check knip npm run -s lint:knip
check "knip --strict" npm run -s lint:knip:strict
check jscpd npm run -s lint:dup

if [ ${#failed[@]} -gt 0 ]; then
  echo "lint failed: ${failed[*]}" >&2
  exit 1
fi
