#!/usr/bin/env bash
# Shared by scripts/test.sh and scripts/cluster.sh (source it; it defines functions only).
#
# start_postgres ROLE PASSWORD DATABASE
#   Installs PostgreSQL when missing (Debian's package), starts its newest "main" cluster (services do not start by
#   themselves here), and creates ROLE (LOGIN CREATEDB, password PASSWORD) and DATABASE owned by it when missing, as the
#   postgres superuser over the Unix socket. Prints the cluster's port on stdout; everything else goes to stderr.
#
# postgres_control_command
#   Prints a shell command that, followed by "stop -m fast", "start" or "restart", controls that cluster.

start_postgres() {
  local role="$1" password="$2" database="$3"
  if ! command -v pg_lsclusters >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  local version
  version=$(pg_lsclusters -h | awk '$2 == "main" { print $1 }' | sort -n | tail -n 1)
  if [ -z "$version" ]; then
    version=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
    pg_createcluster "$version" main >/dev/null
  fi
  if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" { print $4 }' | grep -q online; then
    pg_ctlcluster "$version" main start >/dev/null
  fi
  local port
  port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" { print $3 }')
  # The suites run several silos at once, each with its own connection pools: the default 100 connections is too few.
  if [ "$(cd / && runuser -u postgres -- psql -p "$port" -qtAX -c 'SHOW max_connections')" -lt 300 ]; then
    (cd / && runuser -u postgres -- psql -p "$port" -qtAX -c 'ALTER SYSTEM SET max_connections = 300' >/dev/null)
    pg_ctlcluster "$version" main restart >/dev/null
  fi
  (cd / && runuser -u postgres -- psql -p "$port" -qtAX -v ON_ERROR_STOP=1 \
    -v role="$role" -v password="$password" -v database="$database" >/dev/null) <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role')\gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'role', :'password')\gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'role') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database')\gexec
SQL
  echo "$port"
}

postgres_control_command() {
  local version
  version=$(pg_lsclusters -h | awk '$2 == "main" { print $1 }' | sort -n | tail -n 1)
  echo "pg_ctlcluster $version main"
}
