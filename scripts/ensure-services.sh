#!/usr/bin/env bash
# Makes sure the test servers exist: PostgreSQL on 127.0.0.1:5432 (trust, db "test")
# and NATS with JetStream on 127.0.0.1:4222, plus wireguard-go/wg and kubectl for the
# e2e tests. Skipped when DATABASE_URL / NATS_URL point elsewhere or Docker is
# reachable (the harness then uses testcontainers). Idempotent.
set -euo pipefail

have_port() { (echo > "/dev/tcp/127.0.0.1/$1") >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_ready=0
apt_install() {
  if [ "$apt_ready" = 0 ]; then as_root apt-get update -qq; apt_ready=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Tools the e2e tests drive. Debian packages; no downloads from elsewhere.
need_pkgs=()
command -v wireguard-go >/dev/null || need_pkgs+=(wireguard-go)
command -v wg >/dev/null || need_pkgs+=(wireguard-tools)
command -v ip >/dev/null || need_pkgs+=(iproute2)
command -v kubectl >/dev/null || need_pkgs+=(kubernetes-client)
command -v nats-server >/dev/null || need_pkgs+=(nats-server)
command -v iptables >/dev/null || need_pkgs+=(iptables)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  echo "ensure-services: installing ${need_pkgs[*]}"
  apt_install "${need_pkgs[@]}" || echo "ensure-services: could not install ${need_pkgs[*]} (tests that need them will say why they skip)"
fi

if [ -n "${DATABASE_URL:-}" ] || [ -n "${NATS_URL:-}" ]; then
  echo "ensure-services: using DATABASE_URL / NATS_URL from the environment"
  exit 0
fi
if [ -S /var/run/docker.sock ] || [ -n "${DOCKER_HOST:-}" ]; then
  echo "ensure-services: Docker reachable; tests use testcontainers"
  exit 0
fi

if ! have_port 5432; then
  if ! ls /etc/postgresql >/dev/null 2>&1; then
    echo "ensure-services: installing postgresql"
    apt_install postgresql
  fi
  ver=$(ls /etc/postgresql | sort -V | tail -n1)
  conf="/etc/postgresql/$ver/main/pg_hba.conf"
  if ! grep -q "daalu-trust" "$conf" 2>/dev/null; then
    # Local test server only: trust on loopback, as the CI machines are set up.
    as_root sed -i '1i host all all 127.0.0.1/32 trust # daalu-trust\nlocal all all trust # daalu-trust' "$conf"
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 1 50); do have_port 5432 && break; sleep 0.2; done
  psql -h 127.0.0.1 -U postgres -tAc "select 1 from pg_database where datname='test'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -c "create database test" >/dev/null
fi

if ! have_port 4222; then
  mkdir -p /var/lib/nats-server
  start-stop-daemon --start --oknodo --background --exec "$(command -v nats-server)" -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  for _ in $(seq 1 50); do have_port 4222 && break; sleep 0.2; done
fi

have_port 5432 || { echo "ensure-services: PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }
have_port 4222 || { echo "ensure-services: NATS is not reachable on 127.0.0.1:4222" >&2; exit 1; }
echo "ensure-services: PostgreSQL 127.0.0.1:5432 and NATS 127.0.0.1:4222 ready"
