#!/usr/bin/env bash
# Prints the path of a helm binary, building it once from the Go module proxy into .local/cache/bin (no prebuilt
# downloads: only package registries are reachable here). Several minutes the first time; instant afterwards.
set -euo pipefail
version="${HELM_VERSION:-v3.22.0}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${TANDEM_LOCAL_DIR:-$repo/.local}/cache/bin"
mkdir -p "$bin"
if [[ -x "$bin/helm" ]] && "$bin/helm" version --short 2>/dev/null | grep -q "^$version"; then
  echo "$bin/helm"; exit 0
fi
command -v go >/dev/null || { echo "go is needed to build helm (apt-get install golang)" >&2; exit 1; }
echo "[helm] building helm $version from the Go module proxy (once)" >&2
(cd /tmp && GOBIN="$bin" GOFLAGS=-mod=mod go install "helm.sh/helm/v3/cmd/helm@$version") >&2
echo "$bin/helm"
