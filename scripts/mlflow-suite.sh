#!/usr/bin/env bash
# MLflow's own live-server tests (../shared/mlflow-suite) against the built Harvester, with a ratchet:
# every test named in compat-tests/mlflow-suite-passing.txt must pass, and the list only grows.
#
#   scripts/mlflow-suite.sh [full|core|auth] [-- pytest args]   run and check the ratchet
#   MLFLOW_SUITE_UPDATE=1 scripts/mlflow-suite.sh full          also add newly passing tests to the list
#
# HARVESTER_BIN picks the binary (default target/debug/harvester); MLFLOW_SUITE_DIR the suite
# (default ../shared/mlflow-suite beside this checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SUITE_DIR=${MLFLOW_SUITE_DIR:-$ROOT/../shared/mlflow-suite}
BIN=${HARVESTER_BIN:-$ROOT/target/debug/harvester}
SUITE=${1:-full}
[ $# -gt 0 ] && shift
LIST=$ROOT/compat-tests/mlflow-suite-passing.txt
OUT=${COMPAT_OUT:-$ROOT/target/mlflow-suite}
mkdir -p "$OUT"
export COMPAT_OUT=$OUT

[ -x "$BIN" ] || { echo "mlflow-suite: no binary at $BIN (cargo build first)" >&2; exit 2; }
[ -x "$SUITE_DIR/run.sh" ] || { echo "mlflow-suite: no suite at $SUITE_DIR" >&2; exit 2; }

export COMPAT_SERVER_CMD="$BIN server --host {host} --port {port} --backend-store-uri {backend_uri} \
--default-artifact-root {default_artifact_root} --artifacts-destination {artifact_dir} --workers 2 {app_name_flag}"
# Keep the server quiet: the harness keeps one log per server start.
export RUST_LOG=${RUST_LOG:-warn}

rc=0
"$SUITE_DIR/run.sh" "$SUITE" "$@" || rc=$?
if [ "$rc" -ne 0 ]; then
  echo "mlflow-suite: the harness itself failed (exit $rc)" >&2
  exit "$rc"
fi
exec python3 "$ROOT/scripts/mlflow_suite_ratchet.py" "$OUT/junit-$SUITE.xml" "$LIST"
