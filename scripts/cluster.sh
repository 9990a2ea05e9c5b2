#!/usr/bin/env bash
# A 3-silo TokenGrid cluster on one machine, on the postgres profile.
#
#   scripts/cluster.sh [start]   installs/starts PostgreSQL, builds, runs "db migrate", starts 3 silos in the background
#                                and waits until each answers /health/ready; prints the URLs and keys
#   scripts/cluster.sh stop      stops the silos started here (by their recorded PIDs)
#   scripts/cluster.sh status    shows which silos run and the cluster's membership rows
#
# Silo i (1..3) is named silo$i, listens for HTTP on 127.0.0.1:$((8080 + i)) and for silos on 11110+i (it opens no Orleans
# client gateway). Logs and PIDs go to artifacts/cluster/. Set TOKENGRID_CLUSTER_SILOS to run another number of silos (1..9).
# Keys: TokenGrid__Admin__ApiKey and TokenGrid__Demo__ApiKey when set, otherwise random ones kept in
# artifacts/cluster/keys.env so that a restart keeps them.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/artifacts/cluster"
silos="${TOKENGRID_CLUSTER_SILOS:-3}"
dll="$root/src/TokenGrid.Silo/bin/Release/net10.0/linux-x64/TokenGrid.Silo.dll"
ready_timeout=180

stop_cluster() {
  local pidfile pid
  for pidfile in "$dir"/silo*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
      done
      if kill -0 "$pid" 2>/dev/null; then
        echo "$(basename "$pidfile" .pid) (pid $pid) did not stop within 30 s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
      fi
      echo "stopped $(basename "$pidfile" .pid) (pid $pid)"
    fi
    rm -f "$pidfile"
  done
}

status_cluster() {
  local pidfile pid
  for pidfile in "$dir"/silo*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then echo "$(basename "$pidfile" .pid): running (pid $pid)"; else echo "$(basename "$pidfile" .pid): not running"; fi
  done
  if [ -n "${pg_port:-}" ] || pg_port=$(pg_lsclusters -h 2>/dev/null | awk '$2 == "main" && $4 == "online" { print $3 }' | tail -n 1); then
    [ -n "$pg_port" ] && (cd / && runuser -u postgres -- psql -p "$pg_port" -d tokengrid -c \
      "SELECT silo_name, address, port, status FROM orleans_silos ORDER BY start_time DESC" 2>/dev/null) || true
  fi
}

start_cluster() {
  mkdir -p "$dir"
  for pidfile in "$dir"/silo*.pid; do
    if [ -e "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "A cluster started here is still running; run '$0 stop' first." >&2
      exit 1
    fi
  done

  # shellcheck source=scripts/postgres.sh
  source "$root/scripts/postgres.sh"
  echo "== postgresql"
  local pg_port
  pg_port=$(start_postgres tokengrid tokengrid tokengrid)
  export TokenGrid__Database__ConnectionString="Host=127.0.0.1;Port=$pg_port;Username=tokengrid;Password=tokengrid;Database=tokengrid"

  echo "== build"
  export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
  dotnet build "$root/src/TokenGrid.Silo" -c Release -nologo -clp:ErrorsOnly >/dev/null

  echo "== db migrate"
  dotnet "$dll" db migrate

  if [ ! -e "$dir/keys.env" ]; then
    printf 'admin_key=%s\ndemo_key=%s\n' "tg-admin-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
      "tg-demo-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$dir/keys.env"
  fi
  # shellcheck disable=SC1091
  source "$dir/keys.env"
  export TokenGrid__Admin__ApiKey="${TokenGrid__Admin__ApiKey:-$admin_key}"
  export TokenGrid__Demo__ApiKey="${TokenGrid__Demo__ApiKey:-$demo_key}"

  echo "== silos"
  local i
  for i in $(seq 1 "$silos"); do
    # MALLOC_ARENA_MAX=2: at most 2 glibc malloc arenas (silo-config/README.md, "Memory").
    (cd "$root" && MALLOC_ARENA_MAX=2 exec setsid dotnet "$dll" --profile postgres \
      --urls "http://127.0.0.1:$((8080 + i))" \
      --TokenGrid:Cluster:SiloName "silo$i" \
      --TokenGrid:Cluster:SiloPort "$((11110 + i))" \
      --TokenGrid:Cluster:AdvertisedAddress 127.0.0.1 \
      > "$dir/silo$i.log" 2>&1 < /dev/null) &
    echo $! > "$dir/silo$i.pid"
    echo "silo$i: pid $!, log artifacts/cluster/silo$i.log"
  done

  local deadline=$((SECONDS + ready_timeout))
  for i in $(seq 1 "$silos"); do
    until curl -fsS -o /dev/null "http://127.0.0.1:$((8080 + i))/health/ready" 2>/dev/null; do
      if ! kill -0 "$(cat "$dir/silo$i.pid")" 2>/dev/null; then
        echo "silo$i exited; the end of its log:" >&2
        tail -n 30 "$dir/silo$i.log" >&2
        stop_cluster
        exit 1
      fi
      if [ "$SECONDS" -ge "$deadline" ]; then
        echo "silo$i was not ready within ${ready_timeout} s; see artifacts/cluster/silo$i.log" >&2
        stop_cluster
        exit 1
      fi
      sleep 0.5
    done
  done

  echo
  echo "TokenGrid cluster of $silos silos is ready (PostgreSQL on 127.0.0.1:$pg_port, database tokengrid):"
  for i in $(seq 1 "$silos"); do
    echo "  silo$i  http://127.0.0.1:$((8080 + i))   (silo port $((11110 + i)))"
  done
  echo "  demo tenant key: $TokenGrid__Demo__ApiKey"
  echo "  admin key:       $TokenGrid__Admin__ApiKey"
  echo
  echo "  curl http://127.0.0.1:8081/v1/completions -H \"Authorization: Bearer $TokenGrid__Demo__ApiKey\" \\"
  echo "    -H 'Content-Type: application/json' -d '{\"model\": \"demo\", \"prompt\": \"Hello\", \"max_tokens\": 16}'"
  echo "  Stop with: scripts/cluster.sh stop"
}

case "${1:-start}" in
  start) start_cluster ;;
  stop) stop_cluster ;;
  status) status_cluster ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
