#!/usr/bin/env bash
# Installs Debian's chromium (/usr/bin/chromium) for the browser tests (e2e/web/, playwright-core
# drives it; Playwright's own browser downloads cannot be used here). Idempotent. Without apt
# (not Debian, or not root) it says so and the browser tests skip with the same reason.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
  echo "ensure-chromium: no /usr/bin/chromium and no apt-get as root to install it: the browser tests (e2e/web) will skip" >&2
  exit 0
fi
echo "ensure-chromium: installing chromium (Debian package)"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version
