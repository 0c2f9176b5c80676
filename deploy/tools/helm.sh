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

# shellcheck source=deploy/tools/pinned.sh
source "$root/deploy/tools/pinned.sh"
reuse_or_lock helm "$helm"

pkg="helm.sh/helm/v3"
ldflags="-s -w -X $pkg/internal/version.version=$HELM_VERSION -X $pkg/internal/version.gitTreeState=clean"
ldflags+=" -X $pkg/pkg/chartutil.k8sVersionMajor=$HELM_K8S_MAJOR -X $pkg/pkg/chartutil.k8sVersionMinor=$HELM_K8S_MINOR"
ldflags+=" -X $pkg/pkg/lint/rules.k8sVersionMajor=$HELM_K8S_MAJOR -X $pkg/pkg/lint/rules.k8sVersionMinor=$HELM_K8S_MINOR"
go_install_pinned helm "$pkg/cmd/helm@$HELM_VERSION" "$ldflags"
