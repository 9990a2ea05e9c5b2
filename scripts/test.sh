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

# start_postgres: installs, starts and prepares PostgreSQL (see scripts/postgres.sh).
source "$root/scripts/postgres.sh"

# PostgreSQL for the database tests (services do not start by themselves here). Each test creates its own database
# from TOKENGRID_TEST_POSTGRES; a value already set is kept, so a developer can point the tests elsewhere.
if [ -z "${TOKENGRID_TEST_POSTGRES:-}" ]; then
  echo "== postgresql"
  pg_port=$(start_postgres tokengrid_test tokengrid-test tokengrid_test)
  # Each test drops its database WITH (FORCE), which also ends an autovacuum worker that happens to be in it; ending
  # a process that is not the role's own needs pg_signal_backend (without it such a drop fails now and then).
  (cd / && runuser -u postgres -- psql -p "$pg_port" -qtAX -c 'GRANT pg_signal_backend TO tokengrid_test' >/dev/null)
  export TOKENGRID_TEST_POSTGRES="Host=127.0.0.1;Port=$pg_port;Username=tokengrid_test;Password=tokengrid-test;Database=tokengrid_test"
  # The PostgreSQL restart test stops and starts this server (fast shutdown: open connections are cut).
  export TOKENGRID_TEST_POSTGRES_CTL="$(postgres_control_command)"
fi

# Node.js and npm: the silo's build bundles the dashboard's chart library from npm, and the deployment tests' validator
# comes from npm.
if ! command -v npm >/dev/null 2>&1; then
  echo "== nodejs"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi

# Prometheus (the metrics tests start their own server on loopback, and check the alert rules with promtool) and
# Chromium (the dashboard tests drive it headless through Playwright; no browser is ever downloaded).
source "$root/scripts/prometheus.sh"
echo "== prometheus"
ensure_prometheus
echo "== chromium"
bash "$root/scripts/chromium.sh" >/dev/null

# kubectl (with kustomize) and the Kubernetes schema validator for the deployment tests, in artifacts/k8s-tools.
echo "== kubernetes tools"
export TOKENGRID_K8S_TOOLS="${TOKENGRID_K8S_TOOLS:-$root/artifacts/k8s-tools}"
bash "$root/scripts/k8s-tools.sh" >/dev/null

# Hugging Face's tokenizers and @huggingface/jinja with real model files (tokenizer.json, chat templates) for the parity
# tests, in artifacts/reference-tools.
echo "== reference tools"
export TOKENGRID_REFERENCE_TOOLS="${TOKENGRID_REFERENCE_TOOLS:-$root/artifacts/reference-tools}"
bash "$root/scripts/reference-tools.sh" >/dev/null

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
