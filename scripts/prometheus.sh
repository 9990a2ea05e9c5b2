#!/usr/bin/env bash
# Prometheus for the metrics tests (source it; it defines functions only).
#
# ensure_prometheus
#   Installs Debian's prometheus package when the prometheus or promtool command is missing (it brings both), and
#   exports TOKENGRID_PROMETHEUS and TOKENGRID_PROMTOOL with their paths for the tests. The package's service is
#   left stopped: the tests start their own server on loopback.
#
# start_prometheus CONFIG PORT DATA_DIR
#   Starts a server on 127.0.0.1:PORT with the scrape configuration CONFIG and its data in DATA_DIR, waits until it is
#   ready (at most 60 s) and prints its pid on stdout. Stop it with `kill PID`.

ensure_prometheus() {
  if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    # RUNLEVEL=1 keeps the package's own service from starting on a machine that runs services.
    DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
      systemctl stop prometheus >/dev/null 2>&1 || true
    fi
  fi
  TOKENGRID_PROMETHEUS="$(command -v prometheus)"
  TOKENGRID_PROMTOOL="$(command -v promtool)"
  export TOKENGRID_PROMETHEUS TOKENGRID_PROMTOOL
}

start_prometheus() {
  local config="$1" port="$2" data="$3"
  mkdir -p "$data"
  prometheus --config.file="$config" --storage.tsdb.path="$data" --web.listen-address="127.0.0.1:$port" \
    >"$data/prometheus.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 600); do
    if curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then
      echo "$pid"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$data/prometheus.log" >&2
      return 1
    fi
    sleep 0.1
  done
  kill "$pid" 2>/dev/null
  echo "Prometheus did not become ready on port $port." >&2
  return 1
}
