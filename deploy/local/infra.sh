#!/usr/bin/env bash
# Local Apache Kafka (KRaft, single node, from Maven Central jars) and PostgreSQL 15 (project-local cluster),
# without Docker. Usage: deploy/local/infra.sh up|down|status|env|fetch|kafka-up|kafka-down
# up/down/status also start, stop and report the local Keycloak (deploy/local/keycloak.sh, the OpenID provider),
# unless TANDEM_KEYCLOAK=off (the fault suite's own servers need no identity provider).
#
# Kafka's version is deploy/local/kafka/pom.xml's kafka.version (4.x) unless TANDEM_KAFKA_VERSION names another,
# e.g. TANDEM_KAFKA_VERSION=3.9.2; each version has its own jars, data and pid file, so a 3.9 broker can run beside
# the default one on other ports (TANDEM_KAFKA_PORT, TANDEM_KAFKA_CONTROLLER_PORT), as `make test-kafka39` does.
#
# Everything lives under $TANDEM_LOCAL_DIR (default: <repo>/.local, git-ignored):
#   cache/kafka-<version>/libs   jars fetched once with mvn, reused across runs
#   kafka-<version>/{server.properties,data,kafka.log,kafka.pid}
#   pg/{data,postgres.log,sock}
# A second set of servers (the fault suite's, which kills and restarts them) lives in another TANDEM_LOCAL_DIR on
# other ports and shares the jars through TANDEM_CACHE_DIR (default: $TANDEM_LOCAL_DIR/cache). `pg-restart` stops
# PostgreSQL with TANDEM_PG_STOP_MODE (fast; immediate = a crash, recovered from the WAL) and starts it again.
# `up` twice is harmless: a server that already answers is left alone. `down` stops every broker under
# $TANDEM_LOCAL_DIR (whatever its version) and PostgreSQL; `kafka-up` / `kafka-down` start or stop the selected
# version's broker only.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
local_dir="${TANDEM_LOCAL_DIR:-$repo/.local}"

kafka_version="${TANDEM_KAFKA_VERSION:-$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/kafka/pom.xml")}"
kafka_major="${kafka_version%%.*}"
kafka_host=127.0.0.1
kafka_port="${TANDEM_KAFKA_PORT:-9092}"
kafka_controller_port="${TANDEM_KAFKA_CONTROLLER_PORT:-9093}"
cache_dir="${TANDEM_CACHE_DIR:-$local_dir/cache}"
kafka_libs="$cache_dir/kafka-$kafka_version/libs"
kafka_dir="$local_dir/kafka-$kafka_version"
kafka_pid="$kafka_dir/kafka.pid"
kafka_log="$kafka_dir/kafka.log"

pg_port="${TANDEM_PG_PORT:-5432}"
pg_user=tandem
pg_db=tandem
pg_dir="${TANDEM_PG_DIR:-$local_dir/pg}"
pg_bin="${TANDEM_PG_BIN:-/usr/lib/postgresql/15/bin}"

say() { printf '[infra] %s\n' "$*"; }
die() { printf '[infra] ERROR: %s\n' "$*" >&2; exit 1; }

port_answers() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# PostgreSQL refuses to run as root; when we are root, the cluster belongs to the `postgres` system user.
as_pg_owner() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# ---------------------------------------------------------------------------------------------- Kafka
fetch_kafka() {
  [[ -f "$kafka_libs/.complete" ]] && return 0
  command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven) to fetch Kafka's jars"
  command -v java >/dev/null || die "java not found: install OpenJDK 17 (apt-get install openjdk-17-jre-headless)"
  say "fetching Apache Kafka $kafka_version jars from Maven Central into $kafka_libs"
  rm -rf "$kafka_libs" && mkdir -p "$kafka_libs"
  # The pom's profile picks the logging binding of the version's line (log4j2 from 4.0 on, reload4j before).
  local profile=kafka4
  ((kafka_major < 4)) && profile=kafka3
  mvn -q -B -Dstyle.color=never -f "$here/kafka/pom.xml" -Dkafka.version="$kafka_version" -P "$profile" \
    dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$kafka_libs" \
    || die "mvn could not fetch org.apache.kafka:kafka_2.13:$kafka_version"
  touch "$kafka_libs/.complete"
}

# KAFKA_LOG4J=tools: the command-line tools' logging (warnings on stderr) instead of the broker's.
kafka_cmd() {
  local log_flag
  if ((kafka_major >= 4)); then
    log_flag="-Dlog4j2.configurationFile=$here/kafka/${KAFKA_LOG4J:+tools-}log4j2.properties"
  else
    log_flag="-Dlog4j.configuration=file:$here/kafka/${KAFKA_LOG4J:+tools-}log4j.properties"
  fi
  # shellcheck disable=SC2206  # KAFKA_HEAP_OPTS is a list of JVM flags on purpose
  kafka_argv=(java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g} "$log_flag" -Dkafka.logs.dir="$kafka_dir"
    -cp "$kafka_libs/*" "$@")
}

kafka_java() { kafka_cmd "$@"; "${kafka_argv[@]}"; }

kafka_up() {
  if pid_alive "$kafka_pid" && port_answers "$kafka_host" "$kafka_port"; then
    say "kafka already running (pid $(cat "$kafka_pid")) on $kafka_host:$kafka_port"; return 0
  fi
  if port_answers "$kafka_host" "$kafka_port"; then
    pid_alive "$local_dir/kafka/kafka.pid" \
      && die "port $kafka_port is taken by a broker started before versioned folders ($local_dir/kafka, pid $(cat "$local_dir/kafka/kafka.pid")): \`$0 down\` stops it"
    die "port $kafka_port is taken by another process (set TANDEM_KAFKA_PORT)"
  fi
  fetch_kafka
  mkdir -p "$kafka_dir/data"
  # Kafka 4.x: a dynamic controller quorum (KIP-853), found through its bootstrap address and formatted with this
  # node as its only voter (--standalone). 3.9: the static voter list it was built around.
  local quorum format_flags=()
  if ((kafka_major >= 4)); then
    quorum="controller.quorum.bootstrap.servers=$kafka_host:$kafka_controller_port"
    format_flags=(--standalone)
  else
    quorum="controller.quorum.voters=1@$kafka_host:$kafka_controller_port"
  fi
  sed -e "s#@QUORUM@#$quorum#" -e "s#@DATA@#$kafka_dir/data#" -e "s#@HOST@#$kafka_host#g" \
      -e "s#@PORT@#$kafka_port#g" -e "s#@CONTROLLER_PORT@#$kafka_controller_port#g" \
      "$here/kafka/server.properties" > "$kafka_dir/server.properties"
  if [[ ! -f "$kafka_dir/data/meta.properties" ]]; then
    say "formatting KRaft storage in $kafka_dir/data"
    local cluster_id
    cluster_id="$(KAFKA_LOG4J=tools kafka_java kafka.tools.StorageTool random-uuid)"
    KAFKA_LOG4J=tools kafka_java kafka.tools.StorageTool format --ignore-formatted "${format_flags[@]}" \
      -t "$cluster_id" -c "$kafka_dir/server.properties" >/dev/null
  fi
  say "starting kafka $kafka_version on $kafka_host:$kafka_port"
  : > "$kafka_log"
  kafka_cmd kafka.Kafka "$kafka_dir/server.properties"
  nohup "${kafka_argv[@]}" >>"$kafka_log" 2>&1 &
  echo $! > "$kafka_pid"
  wait_for "kafka" 120 kafka_ready "$kafka_log"
}

kafka_ready() {
  port_answers "$kafka_host" "$kafka_port" && grep -q "Kafka Server started\|\[KafkaRaftServer nodeId=1\] Kafka Server started" "$kafka_log"
}

kafka_down() { stop_kafka_of "$kafka_pid"; }

# Every broker started from this $TANDEM_LOCAL_DIR, whatever its version; kafka/ is the layout before versions.
all_kafka_down() {
  local pid_file
  for pid_file in "$local_dir"/kafka-*/kafka.pid "$local_dir"/kafka/kafka.pid; do
    [[ -e "$pid_file" ]] && stop_kafka_of "$pid_file"
  done
  return 0
}

stop_kafka_of() {
  local pid_file=$1
  if pid_alive "$pid_file"; then
    say "stopping kafka (pid $(cat "$pid_file"), $(basename "$(dirname "$pid_file")"))"
    stop_tree "$(cat "$pid_file")" 60
  fi
  rm -f "$pid_file"
}

# ------------------------------------------------------------------------------------------ PostgreSQL
pg_ctl_() { as_pg_owner "$pg_bin/pg_ctl" -D "$pg_dir/data" "$@"; }

pg_up() {
  [[ -x "$pg_bin/initdb" ]] || die "PostgreSQL 15 binaries not found in $pg_bin (apt-get install postgresql-15)"
  if port_answers 127.0.0.1 "$pg_port" && pg_ctl_ status >/dev/null 2>&1; then
    say "postgresql already running on 127.0.0.1:$pg_port"; return 0
  fi
  port_answers 127.0.0.1 "$pg_port" && die "port $pg_port is taken by another process (set TANDEM_PG_PORT)"
  mkdir -p "$pg_dir"
  if [[ "$(id -u)" == 0 ]]; then
    chown postgres: "$pg_dir"
    runuser -u postgres -- test -w "$pg_dir" \
      || die "the postgres user cannot reach $pg_dir (a parent folder is private); set TANDEM_PG_DIR to a reachable folder"
  fi
  if [[ ! -f "$pg_dir/data/PG_VERSION" ]]; then
    say "initdb: new cluster in $pg_dir/data"
    as_pg_owner "$pg_bin/initdb" -D "$pg_dir/data" -U "$pg_user" --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >> "$pg_dir/data/postgresql.conf" <<EOF
# --- tandem local settings
listen_addresses = '127.0.0.1'
unix_socket_directories = '$pg_dir'
max_connections = 300
shared_buffers = 256MB
log_error_verbosity = terse  # no DETAIL lines: they quote key values (employee ids) on constraint errors
EOF
  fi
  sed -i "s/^#\?port = .*/port = $pg_port/" "$pg_dir/data/postgresql.conf"
  say "starting postgresql 15 on 127.0.0.1:$pg_port"
  pg_ctl_ -l "$pg_dir/postgres.log" -w -t 60 start >/dev/null || fail_with_log "postgresql" "$pg_dir/postgres.log"
  wait_for "postgresql" 60 pg_ready "$pg_dir/postgres.log"
  if ! "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U "$pg_user" -d postgres -Atc \
        "select 1 from pg_database where datname='$pg_db'" | grep -q 1; then
    "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U "$pg_user" "$pg_db"
  fi
}

pg_ready() { "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port"; }

pg_restart() {
  local mode="${TANDEM_PG_STOP_MODE:-fast}"
  say "restarting postgresql (stop mode $mode)"
  pg_ctl_ -m "$mode" -w stop >/dev/null || die "postgresql did not stop"
  pg_up
}

pg_down() {
  if [[ -f "$pg_dir/data/postmaster.pid" ]]; then
    say "stopping postgresql"
    pg_ctl_ -m fast -w stop >/dev/null || true
  fi
}

# ------------------------------------------------------------------------------------------- helpers
wait_for() {
  local name=$1 seconds=$2 check=$3 log=$4
  for ((i = 0; i < seconds * 2; i++)); do
    if "$check"; then say "$name is ready"; return 0; fi
    sleep 0.5
  done
  fail_with_log "$name" "$log"
}

fail_with_log() {
  printf '[infra] ERROR: %s did not become ready. Last lines of %s:\n' "$1" "$2" >&2
  tail -n 40 "$2" >&2 || true
  exit 1
}

stop_tree() {
  local pid=$1 seconds=$2
  pkill -TERM -P "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < seconds * 2; i++)); do
    kill -0 "$pid" 2>/dev/null || pgrep -P "$pid" >/dev/null || return 0
    sleep 0.5
  done
  pkill -KILL -P "$pid" 2>/dev/null || true
  kill -KILL "$pid" 2>/dev/null || true
}

status() {
  local rc=0
  if pid_alive "$kafka_pid" && port_answers "$kafka_host" "$kafka_port"; then
    say "kafka:      running (pid $(cat "$kafka_pid")) at $kafka_host:$kafka_port, version $kafka_version"
  else
    say "kafka:      NOT running"; rc=1
  fi
  if pg_ready 2>/dev/null && pg_ctl_ status >/dev/null 2>&1; then
    say "postgresql: running at 127.0.0.1:$pg_port (data $pg_dir/data)"
  else
    say "postgresql: NOT running"; rc=1
  fi
  keycloak status || rc=1
  return $rc
}

print_env() {
  echo "KAFKA_BOOTSTRAP_SERVERS=$kafka_host:$kafka_port"
  echo "DATABASE_URL=postgresql://$pg_user@127.0.0.1:$pg_port/$pg_db"
}

keycloak() { [[ "${TANDEM_KEYCLOAK:-on}" == off ]] || "$here/keycloak.sh" "$@"; }

case "${1:-}" in
  up) pg_up; kafka_up; keycloak up; print_env ;;
  down) all_kafka_down; pg_down; keycloak down ;;
  status) status ;;
  env) print_env ;;
  fetch) fetch_kafka ;;
  kafka-up) kafka_up ;;
  kafka-down) kafka_down ;;
  pg-restart) pg_restart ;;
  *) echo "usage: $0 up|down|status|env|fetch|kafka-up|kafka-down|pg-restart" >&2; exit 2 ;;
esac
