#!/usr/bin/env bash
# Benchmark Harvester against stock `mlflow server` 3.17.2, side by side, on SQLite and PostgreSQL.
#   bench/run.sh            full run (release build; ~1 h on 2 cores); writes bench/results/latest.json
#   bench/run.sh --quick    every workload once at tiny sizes (CI)
# Other flags go to harvester-bench (see `cargo run --bin harvester-bench -- --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
QUICK=""
for a in "$@"; do [ "$a" = "--quick" ] && QUICK=1; done

if [ ! -x .venv-bench/bin/mlflow ]; then
  echo "== creating .venv-bench with the pinned stock server"
  python3 -m venv .venv-bench
fi
.venv-bench/bin/pip install -q --disable-pip-version-check -r bench/requirements.txt

# PostgreSQL: the caller (scripts/test-all.sh) may have started it and exported BENCH_PG_ADMIN_URL.
if [ -z "${BENCH_PG_ADMIN_URL:-}" ] && command -v pg_lsclusters >/dev/null && pg_lsclusters -h | grep -q online; then
  su postgres -c "psql -q -c \"DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='harvester_test') THEN CREATE ROLE harvester_test LOGIN CREATEDB PASSWORD 'harvester_test'; END IF; END \\\$\\\$;\""
  export BENCH_PG_ADMIN_URL=postgresql://harvester_test:harvester_test@127.0.0.1:5432/postgres
fi
BACKENDS=sqlite
[ -n "${BENCH_PG_ADMIN_URL:-}" ] && BACKENDS=sqlite,postgres

if [ -n "$QUICK" ]; then
  # The harness must not rot; a debug build is enough for that and saves a release build in CI.
  cargo build --bins --locked
  target/debug/harvester-bench --backends "$BACKENDS" --harvester target/debug/harvester \
    --out bench/results/quick.json "$@"
  # W9, the scan against bandit + picklescan: a few submissions, answers compared.
  .venv-bench/bin/python bench/scan_bench.py --harvester target/debug/harvester --n 20 --out bench/results/scan-quick.json
  exit 0
fi
cargo build --release --bins --locked
# A partial run (`--only …`) writes partial.{md,json}, never the full table's latest.{md,json}.
md=bench/results/latest.md
for a in "$@"; do case "$a" in --only*) md=bench/results/partial.md ;; esac; done
target/release/harvester-bench --backends "$BACKENDS" --harvester target/release/harvester "$@" | tee "$md"
.venv-bench/bin/python bench/scan_bench.py --harvester target/release/harvester --n 200 --out bench/results/scan.json \
  | tee -a "$md"
# W10, serving against `mlflow models serve` (wrk drives both; Debian's wrk package).
command -v wrk >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq wrk >/dev/null; }
# MLSERVER=/path/to/mlserver (MLServer 1.7.1 + mlserver-mlflow 1.7.1 + uvloop<0.22 in a venv of its own) adds it.
.venv-bench/bin/python bench/serving_bench.py --harvester target/release/harvester --out bench/results/serving.json \
  ${MLSERVER:+--mlserver "$MLSERVER"} \
  | tee -a "$md"
