#!/usr/bin/env bash
# The one test command (README, CI): installs what is missing, starts the test
# servers where absent, then buf lint -> buf breaking -> typecheck -> web build -> lint -> unit -> integration -> e2e.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-services.sh
bash scripts/ensure-helm.sh || echo "test: no helm (chart tests that need it will say why they skip)"
bash scripts/ensure-chromium.sh || echo "test: no chromium (the browser tests will say why they skip)"
bash scripts/ensure-go-spdy.sh || echo "test: no SPDY translator (kube-double answers SPDY upgrades with 400; the SPDY tests will say why they skip)"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # npm install, not npm ci: npm 11 omits other platforms' optional binaries (buf-darwin-*, …)
  # from the lock file and npm ci then refuses it; install still honours the locked versions.
  npm install --no-audit --no-fund
fi

echo "== buf lint + generate (generated code must match the contracts)"
npx buf lint
npx buf generate
if [ -d .git ] && ! git diff --quiet -- packages/proto/src/gen; then
  echo "generated code is stale: run 'npm run generate' and commit" >&2
  git --no-pager diff --stat -- packages/proto/src/gen >&2
  exit 1
fi
# The contracts stay compatible with the edges already installed (released baseline image, and main).
bash scripts/proto-breaking.sh

echo "== typecheck"
npx tsc -p tsconfig.json

echo "== web app (type-check and build web/dist: the gateway serves it, the browser tests load it)"
npm run -s build -w web

echo "== lint (eslint, dependency-cruiser, knip, jscpd)"
npm run -s lint

echo "== unit + integration + e2e"
# One node:test run so the closing summary counts every test. The timeout bounds
# each test and each file; edge agents start as real processes and importing
# @kubernetes/client-node alone costs ~3 s of CPU, so files with many of them
# need minutes on a busy 2-core machine.
shopt -s nullglob globstar
files=(packages/*/src/**/*.test.ts services/*/src/**/*.test.ts edge/src/**/*.test.ts
       packages/*/test/**/*.test.ts services/*/test/**/*.test.ts edge/test/**/*.test.ts web/test/**/*.test.ts e2e/**/*.test.ts
       bench/**/*.test.ts)
node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout=900000 "${files[@]}"
