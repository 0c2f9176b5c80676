#!/usr/bin/env bash
# Local Keycloak, the OpenID provider people sign in with (issue #14), without Docker.
# Usage: deploy/local/keycloak.sh up|down|status|env|fetch   (infra.sh up/down/status call it)
#
# The distribution is org.keycloak:keycloak-quarkus-dist (zip) from Maven Central, fetched once with mvn into
# $TANDEM_LOCAL_DIR/cache/ and unpacked once into $TANDEM_LOCAL_DIR/keycloak/keycloak-<version>/, the server's home:
# its optimized build (lib/quarkus), its dev-file (H2) store (data/h2), the realm to import (data/import), its log
# and pid file all live there. It runs in production mode, `kc.sh build` once (cached, rebuilt when the build
# options change) then `kc.sh start --optimized`: measured on this machine kind, a restart is ready in ~19 s against ~48 s for
# `start-dev`, which re-augments the server (~27 s) at every start. The one-off build takes ~55 s; the first start
# on a fresh store ~35 s (schema, master realm, the realm's import).
#
# The realm is deploy/local/keycloak/tandem-realm.json (written by `python -m demo.keycloak_realm`). It is imported
# at start with --import-realm, which skips a realm that already exists; so when the file changes, `up` drops the
# local store (demo data only) and the realm is imported afresh.
#
# Bound to 127.0.0.1 only, the management interface (health) too. Ports: TANDEM_KEYCLOAK_PORT (default 8180),
# TANDEM_KEYCLOAK_MANAGEMENT_PORT (default 9180). The master realm's admin comes from TANDEM_KEYCLOAK_ADMIN /
# TANDEM_KEYCLOAK_ADMIN_PASSWORD (default admin/admin: a loopback-only development server).
# Keycloak 26 needs Java 21 or later: TANDEM_KEYCLOAK_JAVA_HOME, else $JAVA_HOME, else the newest JDK in
# /usr/lib/jvm, else `java` on PATH, whichever is >= 21 first. It is used for Keycloak only.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
local_dir="${TANDEM_LOCAL_DIR:-$repo/.local}"

kc_version="${TANDEM_KEYCLOAK_VERSION:-26.7.3}"
kc_host=127.0.0.1
kc_port="${TANDEM_KEYCLOAK_PORT:-8180}"
kc_management_port="${TANDEM_KEYCLOAK_MANAGEMENT_PORT:-9180}"
kc_zip="$local_dir/cache/keycloak-quarkus-dist-$kc_version.zip"
kc_home="$local_dir/keycloak/keycloak-$kc_version"
kc_pid="$local_dir/keycloak/keycloak.pid"
kc_log="$local_dir/keycloak/keycloak.log"
realm_file="$here/keycloak/tandem-realm.json"
# Build-time options: changing them needs a new `kc.sh build` (the stamp below records which were built).
build_options=(--db=dev-file --health-enabled=true)

say() { printf '[keycloak] %s\n' "$*"; }
die() { printf '[keycloak] ERROR: %s\n' "$*" >&2; exit 1; }

port_answers() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
ready() { curl -fs -o /dev/null "http://$kc_host:$kc_management_port/health/ready"; }

# The major version of the java in "$1/bin/java", or 0.
java_major() {
  local version
  version="$("$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)" || true
  echo "${version:-0}"
}

find_java_home() {
  local candidate candidates=("${TANDEM_KEYCLOAK_JAVA_HOME:-}" "${JAVA_HOME:-}")
  mapfile -t -O 2 candidates < <(ls -d /usr/lib/jvm/*/ 2>/dev/null | sed 's:/$::' | sort -V -r)
  if command -v java >/dev/null; then candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"); fi
  for candidate in "${candidates[@]}"; do
    [[ -n "$candidate" && -x "$candidate/bin/java" ]] || continue
    if (($(java_major "$candidate") >= 21)); then echo "$candidate"; return 0; fi
  done
  return 1
}

kc_java_home() {
  find_java_home || die "Keycloak $kc_version needs Java 21 or later and none was found (looked at \
TANDEM_KEYCLOAK_JAVA_HOME, JAVA_HOME, /usr/lib/jvm/*, java on PATH). Install a JDK >= 21 (Debian bookworm has \
none; e.g. Temurin in /usr/lib/jvm) and point TANDEM_KEYCLOAK_JAVA_HOME at it."
}

fetch() {
  if [[ ! -f "$kc_zip" ]]; then
    command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven) to fetch Keycloak"
    say "fetching org.keycloak:keycloak-quarkus-dist:$kc_version (zip) from Maven Central into $local_dir/cache"
    mkdir -p "$local_dir/cache"
    mvn -q -B -Dstyle.color=never org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy \
      -Dartifact="org.keycloak:keycloak-quarkus-dist:$kc_version:zip" -DoutputDirectory="$local_dir/cache" \
      || die "mvn could not fetch org.keycloak:keycloak-quarkus-dist:$kc_version:zip"
  fi
  if [[ ! -f "$kc_home/.unpacked" ]]; then
    command -v unzip >/dev/null || die "unzip not found (apt-get install unzip): the distribution is a zip"
    say "unpacking Keycloak $kc_version into $kc_home"
    rm -rf "$kc_home" && mkdir -p "$local_dir/keycloak"
    local staging="$local_dir/keycloak/.unpack-$$"
    rm -rf "$staging" && mkdir -p "$staging"
    unzip -q "$kc_zip" -d "$staging" || die "could not unpack $kc_zip"
    mv "$staging/keycloak-$kc_version" "$kc_home" && rm -rf "$staging"
    touch "$kc_home/.unpacked"
  fi
}

build() {
  local stamp="$kc_home/.built-$(printf '%s ' "${build_options[@]}" | sha1sum | cut -c1-12)"
  [[ -f "$stamp" ]] && return 0
  say "building the optimized server (once: ${build_options[*]})"
  rm -f "$kc_home"/.built-*
  JAVA_HOME="$java_home" "$kc_home/bin/kc.sh" build "${build_options[@]}" >>"$kc_log" 2>&1 \
    || fail_with_log "kc.sh build"
  touch "$stamp"
}

# A changed realm file replaces the local store (it holds nothing but the imported demo realm and the admin).
stage_realm() {
  [[ -f "$realm_file" ]] || die "$realm_file is missing: python -m demo.keycloak_realm writes it"
  local realm_hash stamp="$kc_home/data/realm.sha1"
  realm_hash="$(sha1sum "$realm_file" | cut -c1-40)"
  if [[ -f "$stamp" && "$(cat "$stamp")" != "$realm_hash" ]]; then
    say "the realm file changed: dropping the local store so it is imported again"
    rm -rf "$kc_home/data/h2"
  fi
  mkdir -p "$kc_home/data/import"
  cp "$realm_file" "$kc_home/data/import/tandem-realm.json"
  echo "$realm_hash" >"$stamp"
}

up() {
  if pid_alive "$kc_pid" && ready; then
    say "keycloak already running (pid $(cat "$kc_pid")) at http://$kc_host:$kc_port"; return 0
  fi
  port_answers "$kc_host" "$kc_port" && die "port $kc_port is taken by another process (set TANDEM_KEYCLOAK_PORT)"
  port_answers "$kc_host" "$kc_management_port" \
    && die "port $kc_management_port is taken by another process (set TANDEM_KEYCLOAK_MANAGEMENT_PORT)"
  command -v curl >/dev/null || die "curl not found (apt-get install curl): it checks Keycloak's health"
  java_home="$(kc_java_home)"
  fetch
  mkdir -p "$(dirname "$kc_log")"
  : >"$kc_log"
  build
  stage_realm
  say "starting keycloak $kc_version on http://$kc_host:$kc_port (java $(java_major "$java_home"), log $kc_log)"
  # --hostname fixes the issuer (http://127.0.0.1:<port>/realms/tandem) whichever host name a caller used.
  JAVA_HOME="$java_home" JAVA_OPTS_KC_HEAP="${TANDEM_KEYCLOAK_HEAP:--Xms64m -Xmx768m}" \
    KC_BOOTSTRAP_ADMIN_USERNAME="${TANDEM_KEYCLOAK_ADMIN:-admin}" \
    KC_BOOTSTRAP_ADMIN_PASSWORD="${TANDEM_KEYCLOAK_ADMIN_PASSWORD:-admin}" \
    nohup "$kc_home/bin/kc.sh" start --optimized --import-realm \
      --http-enabled=true --http-host="$kc_host" --http-port="$kc_port" \
      --hostname="http://$kc_host:$kc_port" \
      --http-management-host="$kc_host" --http-management-port="$kc_management_port" \
      >>"$kc_log" 2>&1 &
  echo $! >"$kc_pid"
  local i
  # Polled once a second: Keycloak logs every "not ready yet" answer.
  for ((i = 0; i < 240; i++)); do
    if ready; then say "keycloak is ready: http://$kc_host:$kc_port/realms/tandem/account"; return 0; fi
    pid_alive "$kc_pid" || fail_with_log "keycloak (it exited)"
    sleep 1
  done
  fail_with_log "keycloak"
}

fail_with_log() {
  printf '[keycloak] ERROR: %s did not become ready. Last lines of %s:\n' "$1" "$kc_log" >&2
  tail -n 40 "$kc_log" >&2 || true
  exit 1
}

# kc.sh runs java as its child and forwards TERM to it: Quarkus shuts down cleanly (the H2 store closes).
down() {
  if pid_alive "$kc_pid"; then
    local pid java_pid i
    pid="$(cat "$kc_pid")"
    java_pid="$(pgrep -P "$pid" || true)"
    say "stopping keycloak (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 120; i++)); do
      kill -0 "$pid" 2>/dev/null || { [[ -n "$java_pid" ]] && kill -0 "$java_pid" 2>/dev/null; } || break
      sleep 0.5
    done
    kill -KILL "$pid" $java_pid 2>/dev/null || true
  fi
  rm -f "$kc_pid"
}

status() {
  if pid_alive "$kc_pid" && ready; then
    say "keycloak:   running (pid $(cat "$kc_pid")) at http://$kc_host:$kc_port, version $kc_version"
  else
    say "keycloak:   NOT running"; return 1
  fi
}

print_env() {
  echo "TANDEM_KEYCLOAK_URL=http://$kc_host:$kc_port"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  env) print_env ;;
  fetch) fetch ;;
  java-home) kc_java_home ;;
  *) echo "usage: $0 up|down|status|env|fetch|java-home" >&2; exit 2 ;;
esac
