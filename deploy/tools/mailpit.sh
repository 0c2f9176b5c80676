#!/usr/bin/env bash
# Prints the path of a pinned Mailpit binary (the local mail catcher of `make run`), building it first if needed.
#
# Like helm (deploy/tools/helm.sh), Mailpit is compiled from its Go module through the Go module proxy, the one
# download host this project's machines reach, into the git-ignored .local/cache/bin/. Idempotent: a binary that
# already reports the pinned version is reused. Progress goes to stderr; stdout is only the path, so callers can do
# `MAILPIT=$(deploy/tools/mailpit.sh)`. Cost of the first build on a 2-core machine: about a minute or two and
# ~150 MB of modules in the Go module cache.
#
# Environment:
#   MAILPIT_VERSION   github.com/axllent/mailpit module version to build (default below)
#   MAILPIT_BIN_DIR   where to put it (default <repo>/.local/cache/bin)
set -euo pipefail

MAILPIT_VERSION="${MAILPIT_VERSION:-v1.33.1}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin_dir="${MAILPIT_BIN_DIR:-$root/.local/cache/bin}"
mailpit="$bin_dir/mailpit"

have_pinned() {
  [[ -x "$mailpit" ]] && [[ "$("$mailpit" version --no-release-check 2>/dev/null)" == *"${MAILPIT_VERSION}"* ]]
}

if have_pinned; then
  echo "$mailpit"
  exit 0
fi

export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "mailpit.sh: Go is needed to build Mailpit $MAILPIT_VERSION (a Go toolchain, as for helm)" >&2; exit 1; }
mkdir -p "$bin_dir"

# One build at a time (parallel test sessions, make targets): the second waits, then finds the binary.
exec 9>"$bin_dir/.mailpit.lock"
flock 9
if have_pinned; then
  echo "$mailpit"
  exit 0
fi

echo "mailpit.sh: building Mailpit $MAILPIT_VERSION from the Go module proxy into $bin_dir (first time only)" >&2
start=$SECONDS
tmp_bin="$(mktemp -d "$bin_dir/.build.XXXXXX")"
trap 'rm -rf "$tmp_bin"' EXIT
# The version is stamped the way Mailpit's own release build does, so `mailpit version` reports the pin.
ldflags="-s -w -X github.com/axllent/mailpit/config.Version=$MAILPIT_VERSION"
GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$tmp_bin" GOFLAGS="${GOFLAGS:-} -buildvcs=false" \
  nice -n 10 go install -trimpath -ldflags "$ldflags" "github.com/axllent/mailpit@$MAILPIT_VERSION" >&2
mv -f "$tmp_bin/mailpit" "$mailpit"
echo "mailpit.sh: built Mailpit $MAILPIT_VERSION in $((SECONDS - start)) s" >&2

have_pinned || { echo "mailpit.sh: $mailpit does not report $MAILPIT_VERSION" >&2; exit 1; }
echo "$mailpit"
