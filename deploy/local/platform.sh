#!/usr/bin/env bash
# The four Tandem services as local background processes. Usage: deploy/local/platform.sh up|down|status
# Logs and pids in .local/run/. Ports: each service's default (enrolment 8001, matching 8002, sessions 8003, insights 8004).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
run_dir="${TANDEM_LOCAL_DIR:-$repo/.local}/run"
python="${TANDEM_PYTHON:-$repo/.venv/bin/python}"
# The declared services (services/registry.py) and their default ports, as `tandem services` lists them.
mapfile -t services < <("$repo/.venv/bin/tandem" services | tr ' ' ':')

say() { printf '[platform] %s\n' "$*"; }

alive() { [[ -f "$run_dir/$1.pid" ]] && kill -0 "$(cat "$run_dir/$1.pid")" 2>/dev/null; }

ready() { curl -fs -o /dev/null "http://127.0.0.1:$1/readyz"; }

up() {
  mkdir -p "$run_dir"
  for entry in "${services[@]}"; do
    name=${entry%%:*} port=${entry##*:}
    if alive "$name"; then say "$name already running (pid $(cat "$run_dir/$name.pid"))"; continue; fi
    (cd "$repo" && TANDEM_HTTP_PORT=$port nohup "$python" -m "services.$name" >>"$run_dir/$name.log" 2>&1 &
     echo $! >"$run_dir/$name.pid")
    say "started $name on :$port (log $run_dir/$name.log)"
  done
  for entry in "${services[@]}"; do
    name=${entry%%:*} port=${entry##*:}
    for ((i = 0; i < 240; i++)); do
      ready "$port" && break
      if ! alive "$name"; then say "ERROR: $name exited; last lines of its log:"; tail -n 30 "$run_dir/$name.log"; exit 1; fi
      sleep 0.5
    done
    ready "$port" || { say "ERROR: $name not ready after 120s"; tail -n 30 "$run_dir/$name.log"; exit 1; }
    say "$name ready: http://127.0.0.1:$port/$name/v1/docs"
  done
}

down() {
  for entry in "${services[@]}"; do
    name=${entry%%:*}
    if alive "$name"; then
      pid=$(cat "$run_dir/$name.pid"); kill -TERM "$pid"
      for ((i = 0; i < 60; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
      say "stopped $name"
    fi
    rm -f "$run_dir/$name.pid"
  done
}

status() {
  local rc=0
  for entry in "${services[@]}"; do
    name=${entry%%:*} port=${entry##*:}
    if alive "$name" && ready "$port"; then say "$name: ready on :$port"; else say "$name: NOT ready"; rc=1; fi
  done
  return $rc
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
