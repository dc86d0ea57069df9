#!/usr/bin/env bash
# Run every test: Rust unit + integration tests and the mlflow-client compat tests, each on SQLite and
# PostgreSQL and with artifacts on local disk and on S3. Installs and starts what it needs (PostgreSQL, the
# s3s-fs S3 server from crates.io, a pinned Python venv, Debian's Chromium and playwright-core) and stops
# what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

PG_PORT=${HARVESTER_PG_PORT:-5432}
PG_USER=harvester_test
PG_PASS=harvester_test
started_pg=""
S3FS_VERSION=0.14.1            # 0.17 needs a newer rustc than this project's
S3_PORT=${HARVESTER_S3_PORT:-9014}
s3_pid=""
s3_data=""
suite_pid=""

log() { printf '\n=== [%s] %s\n' "$(date +%T)" "$*"; }

cleanup() {
  if [ -n "$suite_pid" ]; then
    kill -- "-$suite_pid" 2>/dev/null || kill "$suite_pid" 2>/dev/null || true
    # The suite starts each server in a process group of its own; stop any it left behind.
    pkill -f "^$ROOT/target/debug/harvester server" 2>/dev/null || true
  fi
  if [ -n "$s3_pid" ]; then
    log "stopping s3s-fs"
    kill "$s3_pid" 2>/dev/null || true
    wait "$s3_pid" 2>/dev/null || true
  fi
  [ -n "$s3_data" ] && rm -rf "$s3_data" "$s3_data.log"
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

# A real S3-compatible server for the S3 artifact store: s3s-fs (crates.io), objects as plain files.
S3FS_BIN="$ROOT/.tools/s3s/bin/s3s-fs"
install_s3() {
  [ -x "$S3FS_BIN" ] && return 0
  log "installing s3s-fs $S3FS_VERSION (cargo install, its own target dir, beside the main build)"
  cargo install "s3s-fs@$S3FS_VERSION" --features binary --locked --root "$ROOT/.tools/s3s" --quiet
}
ensure_s3() {
  local bin="$S3FS_BIN"
  s3_data=$(mktemp -d /tmp/harvester-s3.XXXXXX)
  log "starting s3s-fs on 127.0.0.1:$S3_PORT"
  "$bin" --host 127.0.0.1 --port "$S3_PORT" --access-key testing --secret-key testing "$s3_data" \
    >"$s3_data.log" 2>&1 &
  s3_pid=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/" && break
    sleep 0.1
  done
  # The standard AWS environment, as a deployment would set it (no instance-metadata lookups).
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
  export AWS_EC2_METADATA_DISABLED=true MLFLOW_S3_ENDPOINT_URL="http://127.0.0.1:$S3_PORT"
  export HARVESTER_TEST_S3_DATA="$s3_data"
  mkdir -p "$s3_data/harvester-compat"   # s3s-fs: a bucket is a directory
}

# Debian's Chromium for the browser test, and playwright-core (pinned in ui-tests/package-lock.json).
ensure_browser() {
  if [ ! -x /usr/bin/chromium ]; then
    log "installing chromium and chromium-driver (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
  log "installing playwright-core (npm ci)"
  (cd ui-tests && npm ci --no-audit --no-fund --silent)
}

ensure_venv() {
  if [ ! -x "$ROOT/.venv/bin/python" ]; then
    log "creating the Python venv"
    python3 -m venv "$ROOT/.venv"
  fi
  log "installing pinned compat-test requirements"
  "$ROOT/.venv/bin/pip" install -q --disable-pip-version-check -r compat-tests/requirements.txt
}

mkdir -p target
# The benchmark's own venv (the pinned stock server); bench/run.sh finds it ready.
ensure_bench_venv() {
  [ -x .venv-bench/bin/python ] || python3 -m venv .venv-bench
  .venv-bench/bin/pip install -q --disable-pip-version-check -r bench/requirements.txt
}

ensure_postgres
export HARVESTER_TEST_PG_URL="postgresql://$PG_USER:$PG_PASS@127.0.0.1:$PG_PORT/postgres"

# s3s-fs compiles beside the main build: each has serial stretches (proc macros, the final crate, linking)
# that leave a core idle.
install_s3 >target/s3s-install.log 2>&1 &
s3_install_pid=$!
# So do the Python venv and the browser (network and disk, little CPU).
(ensure_venv && ensure_browser && ensure_bench_venv) >target/prepare.log 2>&1 &
prepare_pid=$!

log "building"
cargo build --bins --tests --locked
if ! wait "$s3_install_pid"; then
  cat target/s3s-install.log
  echo "installing s3s-fs failed" >&2
  exit 1
fi
ensure_s3

# MLflow's own server tests need only the binary, so they run beside everything below (their own
# process group, so cleanup can stop them); scripts/mlflow-suite.sh checks the ratchet list.
log "MLflow's server test suites (full, then auth), started in the background; log: target/mlflow-suite.log"
mkdir -p target
HARVESTER_BIN="$ROOT/target/debug/harvester" setsid bash -c \
  'rc=0; scripts/mlflow-suite.sh full || rc=1; scripts/mlflow-suite.sh auth || rc=1; exit $rc' \
  >target/mlflow-suite.log 2>&1 &
suite_pid=$!

log "Rust tests (SQLite + PostgreSQL, artifacts on local disk + S3)"
cargo test --locked

if ! wait "$prepare_pid"; then
  cat target/prepare.log
  echo "preparing the venv or the browser failed" >&2
  exit 1
fi
export HARVESTER_BIN="$ROOT/target/debug/harvester"

compat() { # <database: sqlite|postgresql> <artifacts: local|s3> [pytest args]
  local db=$1 where=$2 store="" arts=""
  shift 2
  if [ "$db" = postgresql ]; then
    fresh_pg_db harvester_compat
    store="postgresql://$PG_USER:$PG_PASS@127.0.0.1:$PG_PORT/harvester_compat"
  fi
  [ "$where" = s3 ] && arts="s3://harvester-compat/$db"
  # Production's shape, PostgreSQL + S3, runs as two replicas behind an alternating proxy (conftest.py).
  local replicas=1
  [ "$db/$where" = postgresql/s3 ] && replicas=2
  HARVESTER_COMPAT_STORE_URI="$store" HARVESTER_COMPAT_ARTIFACTS="$arts" HARVESTER_COMPAT_REPLICAS="$replicas" \
    .venv/bin/python -m pytest compat-tests -q -p no:cacheprovider "$@"
}

# Two passes at a time (one per database; they share nothing), each into its own log, printed when done.
# Tests that do not depend on the pass's store run in the first only: the stock-database round trips
# (which make their own SQLite and PostgreSQL databases) and the scan corpus (no store at all).
ONCE=(--ignore=compat-tests/test_existing_databases.py --ignore=compat-tests/test_scan_corpus.py)
compat_pair() { # <artifacts> [pytest args for the pair]
  local where=$1 rc=0 a b
  shift
  log "compat tests on sqlite and on postgresql (side by side), artifacts on $where"
  compat sqlite "$where" "$@" >"target/compat-sqlite-$where.log" 2>&1 &
  a=$!
  compat postgresql "$where" "${ONCE[@]}" >"target/compat-postgresql-$where.log" 2>&1 &
  b=$!
  wait "$a" || rc=1
  wait "$b" || rc=1
  for f in "target/compat-sqlite-$where.log" "target/compat-postgresql-$where.log"; do
    echo "--- $f"
    if [ "$rc" -ne 0 ]; then cat "$f"; else tail -1 "$f"; fi
  done
  return "$rc"
}
compat_pair local
compat_pair s3 "${ONCE[@]}"

log "browser test: the stock MLflow UI on Harvester in headless Chromium"
ui-tests/run.sh
log "browser test with auth on: logged in with basic credentials, incl. the user and role admin pages"
UI_AUTH=1 ui-tests/run.sh

log "MLflow's server test suite: waiting for it"
suite_rc=0
wait "$suite_pid" || suite_rc=$?
suite_pid=""
# The per-module table and the ratchet's verdict (pytest's own report stays in the log).
sed -n '/^module /,/^runtime:/p' target/mlflow-suite.log
grep -E '^mlflow-suite|^  (REGRESSED|new) ' target/mlflow-suite.log || true
if [ "$suite_rc" -ne 0 ]; then
  tail -40 target/mlflow-suite.log
  echo "MLflow's server test suite: a test on the ratchet list failed (or the harness broke), exit $suite_rc" >&2
  exit 1
fi

log "benchmark harness, quick mode (both servers, every workload once, tiny sizes)"
BENCH_PG_ADMIN_URL="postgresql://$PG_USER:$PG_PASS@127.0.0.1:$PG_PORT/postgres" bench/run.sh --quick

log "all tests passed"
