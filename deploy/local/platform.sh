#!/usr/bin/env bash
# The Tandem services (services/registry.py) as local background processes. Usage: deploy/local/platform.sh up|down|status
# Logs and pids in $TANDEM_LOCAL_DIR/run (default .local/run). Ports: each service's default (enrolment 8001,
# matching 8002, sessions 8003, insights 8004, notifications 8005), or TANDEM_PORT_BASE plus the same offsets (1..5) so a second
# platform (a test's) never collides with a developer's. The services use the public development keys, so
# TANDEM_DEVELOPMENT=true is set for them unless the environment says otherwise.
#
# Mail: `up` also starts Mailpit (github.com/axllent/mailpit, built once by deploy/tools/mailpit.sh), a local mail
# catcher with a web inbox, on 127.0.0.1 only: SMTP on TANDEM_MAILPIT_SMTP_PORT (default 1025), the inbox and its
# API on TANDEM_MAILPIT_WEB_PORT (default 8025); with TANDEM_PORT_BASE, base+25 and base+26. The notifications
# service sends to it. It lives here, not in infra.sh beside Keycloak: it stands in for the organisation's mail
# relay, a setting of the services, and a platform started against someone else's servers still needs one. A
# relay named by the caller (TANDEM_SMTP_HOST) wins: Mailpit is not started. Its messages are in memory: each `up`
# starts with an empty inbox.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
run_dir="${TANDEM_LOCAL_DIR:-$repo/.local}/run"
python="${TANDEM_PYTHON:-$repo/.venv/bin/python}"
export TANDEM_DEVELOPMENT="${TANDEM_DEVELOPMENT:-true}"
# The declared services (services/registry.py) and their default ports, as `tandem services` lists them.
mapfile -t services < <(cd "$repo" && "$python" -m services.cli services | tr ' ' ':')

say() { printf '[platform] %s\n' "$*"; }

port_of() {
  local default=${1##*:}
  if [[ -n "${TANDEM_PORT_BASE:-}" ]]; then echo $((TANDEM_PORT_BASE + default % 1000)); else echo "$default"; fi
}

mail_port() {
  if [[ -n "${TANDEM_PORT_BASE:-}" ]]; then echo $((TANDEM_PORT_BASE + $2)); else echo "$1"; fi
}
mailpit_smtp_port="${TANDEM_MAILPIT_SMTP_PORT:-$(mail_port 1025 25)}"
mailpit_web_port="${TANDEM_MAILPIT_WEB_PORT:-$(mail_port 8025 26)}"
inbox_url="http://127.0.0.1:$mailpit_web_port"

alive() { [[ -f "$run_dir/$1.pid" ]] && kill -0 "$(cat "$run_dir/$1.pid")" 2>/dev/null; }

ready() { curl -fs -o /dev/null "http://127.0.0.1:$1/readyz"; }

# The service's own process: `nohup` and `setsid` exec it, so `$!` is the python process (not a subshell's, which
# is what an earlier version recorded: `make stop` then killed the subshell and left the services running). setsid
# makes it the leader of its own process group, so `down` stops it and anything it started in one signal.
start() {
  local name=$1 port=$2 launcher=()
  command -v setsid >/dev/null && launcher=(setsid)
  cd "$repo"
  TANDEM_HTTP_PORT=$port nohup ${launcher[@]+"${launcher[@]}"} "$python" -m "services.$name" \
    >>"$run_dir/$name.log" 2>&1 </dev/null &
  echo $! >"$run_dir/$name.pid"
}

# Sign-in: the realm's tokens when the local Keycloak runs (`keycloak.sh status`), else the development HS256
# key. What was chosen goes to $run_dir/auth.env, where `make token` and the demo read it. TANDEM_JWKS_URL set by
# the caller wins (its issuer and audience too).
sign_in() {
  rm -f "$run_dir/auth.env"
  if [[ -n "${TANDEM_JWKS_URL:-}" ]]; then say "sign-in: the caller's TANDEM_JWKS_URL"; return; fi
  if ! "$here/keycloak.sh" status >/dev/null 2>&1; then
    say "sign-in: development HS256 key (Keycloak is not running)"; return
  fi
  local url settings line
  url=$("$here/keycloak.sh" env | sed -n 's/^TANDEM_KEYCLOAK_URL=//p')
  settings=$(cd "$repo" && "$python" -m shared.oidc "$url/realms/tandem" tandem-api)
  while IFS= read -r line; do [[ -n "$line" ]] && export "${line?}"; done <<<"$settings"
  # The web pages (insights) sign people in at the same realm, with its public PKCE client `tandem-web`.
  export TANDEM_WEB_OIDC_ISSUER="$url/realms/tandem"
  echo "TANDEM_KEYCLOAK_URL=$url" >"$run_dir/auth.env"
  say "sign-in: Keycloak realm $url/realms/tandem (make token gets its tokens)"
}

# Mailpit, unless the caller names a relay; the services started after it send there.
mail_up() {
  if [[ -n "${TANDEM_SMTP_HOST:-}" ]]; then say "mail: the caller's relay $TANDEM_SMTP_HOST:${TANDEM_SMTP_PORT:-25}"; return; fi
  export TANDEM_SMTP_HOST=127.0.0.1 TANDEM_SMTP_PORT="$mailpit_smtp_port"
  if alive mailpit; then say "mailpit already running (pid $(cat "$run_dir/mailpit.pid"))"; return; fi
  local mailpit launcher=()
  mailpit="$("$repo/deploy/tools/mailpit.sh")"
  command -v setsid >/dev/null && launcher=(setsid)
  nohup ${launcher[@]+"${launcher[@]}"} "$mailpit" --smtp "127.0.0.1:$mailpit_smtp_port" \
    --listen "127.0.0.1:$mailpit_web_port" --disable-version-check --smtp-auth-accept-any \
    --smtp-auth-allow-insecure >>"$run_dir/mailpit.log" 2>&1 </dev/null &
  echo $! >"$run_dir/mailpit.pid"
  for ((i = 0; i < 60; i++)); do
    curl -fs -o /dev/null "$inbox_url/readyz" && break
    alive mailpit || { say "ERROR: mailpit exited; last lines of its log:"; tail -n 30 "$run_dir/mailpit.log"; exit 1; }
    sleep 0.5
  done
  say "mailpit ready: SMTP 127.0.0.1:$mailpit_smtp_port, inbox $inbox_url (pid $(cat "$run_dir/mailpit.pid"))"
}

up() {
  mkdir -p "$run_dir"
  sign_in
  mail_up
  for entry in "${services[@]}"; do
    name=${entry%%:*} port=$(port_of "$entry")
    if alive "$name"; then say "$name already running (pid $(cat "$run_dir/$name.pid"))"; continue; fi
    start "$name" "$port"
    say "started $name on :$port (pid $(cat "$run_dir/$name.pid"), log $run_dir/$name.log)"
  done
  for entry in "${services[@]}"; do
    name=${entry%%:*} port=$(port_of "$entry")
    for ((i = 0; i < 240; i++)); do
      ready "$port" && break
      if ! alive "$name"; then say "ERROR: $name exited; last lines of its log:"; tail -n 30 "$run_dir/$name.log"; exit 1; fi
      sleep 0.5
    done
    ready "$port" || { say "ERROR: $name not ready after 120s"; tail -n 30 "$run_dir/$name.log"; exit 1; }
    say "$name ready: http://127.0.0.1:$port/$name/v1/docs"
  done
}

# Signal the process group when the service leads one (started by `start` with setsid), else the process.
signal() {
  local sig=$1 pid=$2
  if [[ "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" == "$pid" ]]; then
    kill "-$sig" -- "-$pid" 2>/dev/null || true
  else
    kill "-$sig" "$pid" 2>/dev/null || true
  fi
}

stop_pid() {
  local pid=$1
  signal TERM "$pid"
  # SIGTERM drains work in flight (shutdown_grace_s, 20 s by default) before the process exits.
  for ((i = 0; i < 60; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
  signal KILL "$pid"
}

# A service still holding its port although its pid file is gone or wrong (left by the earlier version of this
# script): only a process whose command line is this service's is stopped.
strays() {
  local name=$1 port=$2 pid
  command -v ss >/dev/null || return 0
  for pid in $(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "-m services.$name" && echo "$pid"
  done
  return 0
}

down() {
  for entry in "${services[@]}"; do
    name=${entry%%:*} port=$(port_of "$entry")
    if alive "$name"; then
      stop_pid "$(cat "$run_dir/$name.pid")"
      say "stopped $name"
    fi
    rm -f "$run_dir/$name.pid"
    for pid in $(strays "$name" "$port"); do
      stop_pid "$pid"
      say "stopped $name (pid $pid, not in $run_dir)"
    done
  done
  if alive mailpit; then
    stop_pid "$(cat "$run_dir/mailpit.pid")"
    say "stopped mailpit"
  fi
  rm -f "$run_dir/mailpit.pid"
  # The sign-in the stopped services used: `make token` falls back to development tokens until the next `up`.
  rm -f "$run_dir/auth.env"
}

status() {
  local rc=0
  for entry in "${services[@]}"; do
    name=${entry%%:*} port=$(port_of "$entry")
    if alive "$name" && ready "$port"; then say "$name: ready on :$port"; else say "$name: NOT ready"; rc=1; fi
  done
  if alive mailpit; then say "mailpit: inbox $inbox_url, SMTP 127.0.0.1:$mailpit_smtp_port"; fi
  return $rc
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  inbox) if alive mailpit; then echo "Introductions and prompts arrive in the Mailpit inbox: $inbox_url"; fi ;;
  *) echo "usage: $0 up|down|status|inbox" >&2; exit 2 ;;
esac
