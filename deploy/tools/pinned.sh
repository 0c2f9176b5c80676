# Sourced by the scripts that build a pinned tool from the Go module proxy (helm.sh, vegeta.sh, mailpit.sh): the
# steps they share. The sourcing script defines `have_pinned` (true when the binary reports the pinned version) and
# sets `bin_dir` before calling these.

# Prints the binary's path and exits when the pinned one is there; otherwise returns holding the build lock, so
# parallel callers (test sessions, make targets) build once: the second waits, then finds the binary.
reuse_or_lock() {
  local name="$1" binary="$2"
  if have_pinned; then
    echo "$binary"
    exit 0
  fi
  mkdir -p "$bin_dir"
  exec 9>"$bin_dir/.$name.lock"
  flock 9
  if have_pinned; then
    echo "$binary"
    exit 0
  fi
}

# `go install`s module@version into bin_dir as `name`, through a temporary GOBIN so an interrupted build never
# leaves a half-written binary. GOTOOLCHAIN=local: fail clearly instead of fetching another Go toolchain; CGO off:
# a static binary, no C compiler; nice: the build is CPU-heavy and shares the machine with tests.
go_install_pinned() {
  local name="$1" package="$2" ldflags="$3"
  command -v go >/dev/null || { echo "$name.sh: Go is needed to build $package" >&2; exit 1; }
  echo "$name.sh: building $package from the Go module proxy into $bin_dir (first time only)" >&2
  local start=$SECONDS tmp_bin
  tmp_bin="$(mktemp -d "$bin_dir/.build.XXXXXX")"
  trap "rm -rf '$tmp_bin'" EXIT
  GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$tmp_bin" GOFLAGS="${GOFLAGS:-} -buildvcs=false" \
    nice -n 10 go install -trimpath -ldflags "$ldflags" "$package" >&2
  mv -f "$tmp_bin/$name" "$bin_dir/$name"
  echo "$name.sh: built $package in $((SECONDS - start)) s" >&2
  have_pinned || { echo "$name.sh: $bin_dir/$name does not report the pinned version" >&2; exit 1; }
  echo "$bin_dir/$name"
}
