#!/usr/bin/env bash
# Quick start:
#   ./daalu.sh up     install what is missing and run the whole hub (embedded PostgreSQL
#                     and a child nats-server unless DATABASE_URL / NATS_URL are set)
#   ./daalu.sh test   install what is missing and run every test
set -euo pipefail
cd "$(dirname "$0")"

ensure_node() {
  if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
    echo "daalu: Node.js >= 20 is required" >&2
    exit 1
  fi
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    # npm install, not npm ci: npm 11 omits other platforms' optional binaries (buf-darwin-*, …)
    # from the lock file and npm ci then refuses it; install still honours the locked versions.
    npm install --no-audit --no-fund
  fi
}

case "${1:-}" in
  up)
    shift
    ensure_node
    command -v nats-server >/dev/null || [ -n "${NATS_URL:-}" ] || {
      echo "daalu: installing nats-server (Debian package)"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nats-server >/dev/null
    }
    [ -f web/dist/index.html ] || { echo "daalu: building the web app (npm run build -w web)"; npm run -s build -w web; }
    exec npx tsx packages/devhub/src/main.ts "$@"
    ;;
  test)
    shift
    ensure_node
    exec bash scripts/test.sh "$@"
    ;;
  *)
    echo "usage: ./daalu.sh up | test" >&2
    exit 2
    ;;
esac
