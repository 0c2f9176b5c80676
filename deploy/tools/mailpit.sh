#!/usr/bin/env bash
# Prints the path of a pinned Mailpit binary (the local mail catcher of `make run`), building it first if needed.
#
# Like helm (deploy/tools/helm.sh), Mailpit is compiled from its Go module through the Go module proxy, the one
# place this project's machines get Go source from, into the git-ignored .local/cache/bin/. The module zip lacks the
# web inbox, though: Mailpit's single-page app (server/ui/dist, embedded into the binary) is built by npm at release
# time and not checked in, so a plain `go install` serves a blank page. This script therefore copies the module
# source to a temporary folder, builds the app there with npm and Mailpit's own esbuild.config.mjs, then runs
# `go build` in that folder so the app is embedded. Nothing built is committed.
#
# The npm dependencies come from deploy/tools/mailpit-ui/ (package.json pinned and package-lock.json), not from
# Mailpit's own lockfile, which the npm registry reachable here cannot satisfy: it pins sass-embedded 1.108.1
# (not there; esbuild-sass-plugin uses the pure-JS `sass` unless told otherwise, so it is left out) and rapidoc 12
# (not there either; 9.3.8 builds the API docs page, a side page of the inbox). Only the build tools are listed:
# Mailpit's lint and browser-test tools (eslint, prettier, playwright, jsdom) are not needed to build. Install
# scripts are not run (--ignore-scripts): esbuild's binary arrives as its platform package, nothing else needs one.
#
# Idempotent: a binary that reports the pinned version and carries the stamp of this recipe is reused (binaries
# built without the app by the earlier recipe are rebuilt). Progress goes to stderr; stdout is only the path, so
# callers can do `MAILPIT=$(deploy/tools/mailpit.sh)`. Cost of the first build on a 2-core machine: npm ci about
# a minute, the app about 30 s, go build a minute or two when the Go module cache is cold; ~250 MB of node_modules
# in the temporary folder, removed afterwards.
#
# Environment:
#   MAILPIT_VERSION   github.com/axllent/mailpit module version to build (default below; a new one may need
#                     deploy/tools/mailpit-ui/ brought in line with its package.json)
#   MAILPIT_BIN_DIR   where to put it (default <repo>/.local/cache/bin)
set -euo pipefail

MAILPIT_VERSION="${MAILPIT_VERSION:-v1.33.1}"
# Bumped when the way the binary is built changes, so cached binaries of an older recipe are rebuilt.
recipe="ui-1"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin_dir="${MAILPIT_BIN_DIR:-$root/.local/cache/bin}"
mailpit="$bin_dir/mailpit"
stamp="$bin_dir/mailpit.stamp"
ui_deps="$root/deploy/tools/mailpit-ui"

have_pinned() {
  [[ -x "$mailpit" ]] && [[ "$(cat "$stamp" 2>/dev/null)" == "$MAILPIT_VERSION $recipe" ]] &&
    [[ "$("$mailpit" version --no-release-check 2>/dev/null)" == *"${MAILPIT_VERSION}"* ]]
}

# shellcheck source=deploy/tools/pinned.sh
source "$root/deploy/tools/pinned.sh"
reuse_or_lock mailpit "$mailpit"

export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "mailpit.sh: Go is needed to build Mailpit $MAILPIT_VERSION (a Go toolchain, as for helm)" >&2; exit 1; }
for tool in node npm; do
  command -v "$tool" >/dev/null ||
    { echo "mailpit.sh: $tool is needed to build Mailpit's web inbox (apt-get install nodejs npm)" >&2; exit 1; }
done
echo "mailpit.sh: building Mailpit $MAILPIT_VERSION with its web inbox into $bin_dir (first time only)" >&2
start=$SECONDS
work="$(mktemp -d "${TMPDIR:-/tmp}/mailpit-build.XXXXXX")"
work_bin="$bin_dir/.mailpit.new.$$"
trap 'rm -rf "$work" "$work_bin"' EXIT

# The module's source, as the Go module proxy serves it (read-only in the module cache, hence the copy).
module_dir="$(GOTOOLCHAIN=local GOFLAGS=-mod=mod go mod download -json "github.com/axllent/mailpit@$MAILPIT_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[[ -d "$module_dir" ]] || { echo "mailpit.sh: go mod download gave no source folder for $MAILPIT_VERSION" >&2; exit 1; }
src="$work/mailpit"
cp -R "$module_dir" "$src"
chmod -R u+w "$src"
cp "$ui_deps/package.json" "$ui_deps/package-lock.json" "$src/"

echo "mailpit.sh: installing the web inbox's npm dependencies" >&2
(cd "$src" && nice -n 10 npm ci --ignore-scripts --legacy-peer-deps --no-audit --no-fund --loglevel=error >&2)
echo "mailpit.sh: building the web inbox (server/ui/dist)" >&2
(cd "$src" && MINIFY=true nice -n 10 node esbuild.config.mjs >&2)
[[ -s "$src/server/ui/dist/app.js" ]] || { echo "mailpit.sh: the web inbox build produced no app.js" >&2; exit 1; }

echo "mailpit.sh: compiling Mailpit with the web inbox embedded" >&2
# The version is stamped the way Mailpit's own release build does, so `mailpit version` reports the pin.
ldflags="-s -w -X github.com/axllent/mailpit/config.Version=$MAILPIT_VERSION"
(cd "$src" && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=mod -buildvcs=false" \
  nice -n 10 go build -trimpath -ldflags "$ldflags" -o "$work/mailpit.bin" . >&2)
# Copied beside the target first, then renamed: a mailpit that is running keeps its file, none sees half a binary.
cp "$work/mailpit.bin" "$work_bin"
mv -f "$work_bin" "$mailpit"
echo "$MAILPIT_VERSION $recipe" >"$stamp"
echo "mailpit.sh: built Mailpit $MAILPIT_VERSION with its web inbox in $((SECONDS - start)) s" >&2

have_pinned || { echo "mailpit.sh: $mailpit does not report $MAILPIT_VERSION" >&2; exit 1; }
echo "$mailpit"
