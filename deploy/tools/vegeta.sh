#!/usr/bin/env bash
# Prints the path of a pinned vegeta binary (the HTTP load generator of `make bench`'s http_load), building it first
# if needed.
#
# The bench needs a load generator that is not itself the bottleneck (issue #18): a Python client spends about a
# millisecond of CPU per request, as much as the service it measures, on the same two cores. Vegeta is compiled Go,
# keeps a constant request rate whatever the answers (open loop), and reports latency quantiles. Its release binaries
# live on a host this project's machines cannot reach, so it is compiled from its Go module, like helm
# (deploy/tools/helm.sh), into the git-ignored .local/cache/bin/. Idempotent; stdout is only the path.
#
# Cost of the first build on a 2-core machine: about a minute, ~30 MB of module downloads.
#
# Environment:
#   VEGETA_VERSION   github.com/tsenart/vegeta/v12 module version to build (default below)
#   VEGETA_BIN_DIR   where to put it (default <repo>/.local/cache/bin)
set -euo pipefail

VEGETA_VERSION="${VEGETA_VERSION:-v12.13.0}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin_dir="${VEGETA_BIN_DIR:-$root/.local/cache/bin}"
vegeta="$bin_dir/vegeta"

have_pinned() {
  [[ -x "$vegeta" ]] && "$vegeta" -version 2>/dev/null | grep -qx "Version: $VEGETA_VERSION"
}

# shellcheck source=deploy/tools/pinned.sh
source "$root/deploy/tools/pinned.sh"
reuse_or_lock vegeta "$vegeta"
# The version is stamped as vegeta's own release builds do (main.Version), so have_pinned can read it back.
go_install_pinned vegeta "github.com/tsenart/vegeta/v12@$VEGETA_VERSION" "-s -w -X main.Version=$VEGETA_VERSION"
