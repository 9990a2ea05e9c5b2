#!/usr/bin/env bash
# Runs TokenGrid's whole test suite on a fresh Debian machine with the .NET SDK, installing and starting
# whatever the tests need first. Ends with one line "Tests: N passed, N failed[, N skipped]" counted from
# the test results (TRX), and exits non-zero when a test failed or the build broke.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
results="$root/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# Demo models built by the tests go to a cache of their own, so a run never reuses a stale build.
export TOKENGRID_MODEL_CACHE="${TOKENGRID_MODEL_CACHE:-$root/artifacts/model-cache}"

# Installs PostgreSQL when missing (Debian's package), starts its newest "main" cluster and creates the tests' role
# and database as the postgres superuser over the Unix socket. Prints the cluster's port.
start_postgres() {
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
  (cd / && runuser -u postgres -- psql -p "$port" -qtAX -v ON_ERROR_STOP=1 >/dev/null) <<'SQL'
SELECT 'CREATE ROLE tokengrid LOGIN CREATEDB' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tokengrid')\gexec
ALTER ROLE tokengrid PASSWORD 'tokengrid-test';
SELECT 'CREATE DATABASE tokengrid_test OWNER tokengrid' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'tokengrid_test')\gexec
SQL
  echo "$port"
}

# PostgreSQL for the database tests (services do not start by themselves here). Each test creates its own database
# from TOKENGRID_TEST_POSTGRES; a value already set is kept, so a developer can point the tests elsewhere.
if [ -z "${TOKENGRID_TEST_POSTGRES:-}" ]; then
  echo "== postgresql"
  pg_port=$(start_postgres)
  export TOKENGRID_TEST_POSTGRES="Host=127.0.0.1;Port=$pg_port;Username=tokengrid;Password=tokengrid-test;Database=tokengrid_test"
fi

echo "== restore and build"
dotnet build TokenGrid.sln -c Release -nologo -clp:ErrorsOnly

echo "== test"
status=0
# One test assembly at a time (-m:1): the scheduling and streaming tests measure shares and latencies against
# each other, and two assemblies' silos fighting over two cores would only add noise.
dotnet test TokenGrid.sln -c Release --no-build -nologo -m:1 \
  --logger "trx" --logger "console;verbosity=minimal" \
  --results-directory "$results" || status=$?

passed=0 failed=0 skipped=0 files=0
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get notExecuted)))
done

if [ "$files" -eq 0 ]; then
  echo "No test results were written." >&2
  status=1
fi
if [ "$status" -eq 0 ] && [ "$failed" -gt 0 ]; then
  status=1
fi

line="Tests: $passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo "$line"
exit "$status"
