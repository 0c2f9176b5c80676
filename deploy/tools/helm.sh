#!/usr/bin/env bash
# Prints the path of a pinned helm binary, building it first if needed.
#
# Helm's prebuilt release binaries live on a host this project's machines cannot reach, so helm is compiled from
# its Go module (the Go module proxy is reachable) into the git-ignored .local/cache/bin/. Idempotent: a binary
# that already reports the pinned version is reused and nothing is built. Progress goes to stderr; stdout is only
# the path, so callers can do `HELM=$(deploy/tools/helm.sh)`.
#
# Cost of the first build on a 2-core machine: see deploy/README.md (a few minutes, ~1-2 GB RAM, ~400 MB of
# module downloads in the Go module cache). Needs Go >= the version in helm's go.mod (1.26 for v3.22).
#
# Environment:
#   HELM_VERSION   helm.sh/helm/v3 module version to build (default below)
#   HELM_BIN_DIR   where to put it (default <repo>/.local/cache/bin)
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
# client-go v0.37 in helm v3.22's go.mod -> Kubernetes 1.37: the default .Capabilities.KubeVersion for
# `helm template` / `helm lint`, as helm's own Makefile sets it (source default is a stale 1.20).
HELM_K8S_MAJOR="${HELM_K8S_MAJOR:-1}"
HELM_K8S_MINOR="${HELM_K8S_MINOR:-37}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin_dir="${HELM_BIN_DIR:-$root/.local/cache/bin}"
helm="$bin_dir/helm"

have_pinned() {
  [[ -x "$helm" ]] && [[ "$("$helm" version --template '{{.Version}}' 2>/dev/null)" == "$HELM_VERSION" ]]
}

if have_pinned; then
  echo "$helm"
  exit 0
fi

command -v go >/dev/null || { echo "helm.sh: Go is needed to build helm $HELM_VERSION (apt-get install golang-go or a Go toolchain)" >&2; exit 1; }
mkdir -p "$bin_dir"

# One build at a time (parallel test sessions, make targets): the second waits, then finds the binary.
exec 9>"$bin_dir/.helm.lock"
flock 9
if have_pinned; then
  echo "$helm"
  exit 0
fi

pkg="helm.sh/helm/v3"
ldflags="-s -w -X $pkg/internal/version.version=$HELM_VERSION -X $pkg/internal/version.gitTreeState=clean"
ldflags+=" -X $pkg/pkg/chartutil.k8sVersionMajor=$HELM_K8S_MAJOR -X $pkg/pkg/chartutil.k8sVersionMinor=$HELM_K8S_MINOR"
ldflags+=" -X $pkg/pkg/lint/rules.k8sVersionMajor=$HELM_K8S_MAJOR -X $pkg/pkg/lint/rules.k8sVersionMinor=$HELM_K8S_MINOR"

echo "helm.sh: building helm $HELM_VERSION from the Go module proxy into $bin_dir (first time only, takes minutes)" >&2
start=$SECONDS
# Build into a temporary GOBIN and move into place, so an interrupted build never leaves a half-written helm.
tmp_bin="$(mktemp -d "$bin_dir/.build.XXXXXX")"
trap 'rm -rf "$tmp_bin"' EXIT
# GOTOOLCHAIN=local: fail clearly instead of fetching another Go toolchain; CGO off: a static binary, no C compiler.
# nice: the build is CPU-heavy and shares the machine with tests.
GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$tmp_bin" GOFLAGS="${GOFLAGS:-} -buildvcs=false" \
  nice -n 10 go install -trimpath -ldflags "$ldflags" "$pkg/cmd/helm@$HELM_VERSION" >&2
mv -f "$tmp_bin/helm" "$helm"
echo "helm.sh: built helm $HELM_VERSION in $((SECONDS - start)) s" >&2

have_pinned || { echo "helm.sh: $helm does not report $HELM_VERSION" >&2; exit 1; }
echo "$helm"
