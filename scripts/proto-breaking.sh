#!/usr/bin/env bash
# npm run lint:proto:breaking — the contracts stay wire-compatible with the edges already installed.
#   1. against testdata/proto/baseline.binpb: the last released contract, a committed buf image, so the
#      check runs offline and in any checkout (no git history needed). Refresh it only when a release
#      ships: `npx buf build --exclude-source-info -o testdata/proto/baseline.binpb` (commit it).
#   2. against the main branch's proto (`.git#branch=main`) when this checkout has that branch: a branch
#      may not break what main already promised, even between releases.
# Rules: buf.yaml `breaking` (FILE). Exits non-zero on any breaking change, listing each one.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== buf breaking against the released contract (testdata/proto/baseline.binpb)"
npx buf breaking --against testdata/proto/baseline.binpb
if git rev-parse --verify -q refs/heads/main >/dev/null 2>&1 && [ -e .git ]; then
  echo "== buf breaking against the main branch (.git#branch=main)"
  npx buf breaking --against '.git#branch=main'
else
  echo "== buf breaking: no main branch in this checkout; the released baseline alone was checked"
fi
