#!/usr/bin/env bash
# Run every test: Rust unit + integration tests and the mlflow-client compat tests, each on SQLite and
# PostgreSQL. Installs and starts what it needs (PostgreSQL, a pinned Python venv) and stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

PG_PORT=${HARVESTER_PG_PORT:-5432}
PG_USER=harvester_test
PG_PASS=harvester_test
started_pg=""

log() { printf '\n=== %s\n' "$*"; }

cleanup() {
  if [ -n "$started_pg" ]; then
    log "stopping PostgreSQL $started_pg"
    pg_ctlcluster $started_pg stop || true
  fi
}
trap cleanup EXIT

ensure_postgres() {
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
    log "installing PostgreSQL (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
  fi
  local ver
  ver=$(ls /usr/lib/postgresql | sort -V | tail -1)
  if ! pg_lsclusters -h | awk -v v="$ver" '$1==v && $2=="main"' | grep -q .; then
    pg_createcluster "$ver" main >/dev/null
  fi
  if ! pg_lsclusters -h | awk -v v="$ver" '$1==v && $2=="main" && $4=="online"' | grep -q .; then
    log "starting PostgreSQL $ver main"
    pg_ctlcluster "$ver" main start
    started_pg="$ver main"
  fi
  for _ in $(seq 50); do
    su postgres -c "pg_isready -q -p $PG_PORT" && break
    sleep 0.2
  done
  su postgres -c "psql -q -p $PG_PORT -v ON_ERROR_STOP=1" <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASS';
  END IF;
END \$\$;
SQL
}

fresh_pg_db() {
  su postgres -c "psql -q -p $PG_PORT -c 'DROP DATABASE IF EXISTS $1 WITH (FORCE)' -c 'CREATE DATABASE $1 OWNER $PG_USER'" 2>/dev/null
}

ensure_venv() {
  if [ ! -x "$ROOT/.venv/bin/python" ]; then
    log "creating the Python venv"
    python3 -m venv "$ROOT/.venv"
  fi
  log "installing pinned compat-test requirements"
  "$ROOT/.venv/bin/pip" install -q --disable-pip-version-check -r compat-tests/requirements.txt
}

ensure_postgres
export HARVESTER_TEST_PG_URL="postgresql://$PG_USER:$PG_PASS@127.0.0.1:$PG_PORT/postgres"

log "building"
cargo build --bins --tests --locked

log "Rust tests (SQLite + PostgreSQL)"
cargo test --locked

ensure_venv
export HARVESTER_BIN="$ROOT/target/debug/harvester"

log "compat tests on SQLite"
.venv/bin/python -m pytest compat-tests -q -p no:cacheprovider

log "compat tests on PostgreSQL"
fresh_pg_db harvester_compat
HARVESTER_COMPAT_STORE_URI="postgresql://$PG_USER:$PG_PASS@127.0.0.1:$PG_PORT/harvester_compat" \
  .venv/bin/python -m pytest compat-tests -q -p no:cacheprovider

log "benchmark harness, quick mode (both servers, every workload once, tiny sizes)"
BENCH_PG_ADMIN_URL="postgresql://$PG_USER:$PG_PASS@127.0.0.1:$PG_PORT/postgres" bench/run.sh --quick

log "all tests passed"
