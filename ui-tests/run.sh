#!/usr/bin/env bash
# Browser test: start the built Harvester on a fresh SQLite store with the UI from the compat venv's mlflow
# wheel, seed data with the stock client, and drive the UI in Debian's headless Chromium (playwright-core).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN=${HARVESTER_BIN:-$ROOT/target/debug/harvester}
PY=${PYTHON:-$ROOT/.venv/bin/python}
work=$(mktemp -d /tmp/harvester-ui.XXXXXX)
port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ui=$("$PY" -c 'import mlflow.server, os; print(os.path.join(os.path.dirname(mlflow.server.__file__), "js", "build"))')
# UI_AUTH=1: the same with the basic-auth app on, browsing as its admin (and the user/role admin pages).
auth=()
if [ "${UI_AUTH:-}" = 1 ]; then
  auth=(--app-name basic-auth)
  export MLFLOW_AUTH_ADMIN_PASSWORD=ui-admin-password UI_USER=admin UI_PASSWORD=ui-admin-password
  export MLFLOW_TRACKING_USERNAME=admin MLFLOW_TRACKING_PASSWORD=ui-admin-password
fi
"$BIN" server --backend-store-uri "sqlite:///$work/ui.db" --artifacts-destination "$work/artifacts" \
  --port "$port" --ui-dir "$ui" --serving-dir "$work/serving" --serving-python "$PY" "${auth[@]}" \
  >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
seed=$("$PY" ui-tests/seed.py "http://127.0.0.1:$port" 2>/dev/null | tail -1)
if [ "${UI_AUTH:-}" = 1 ]; then
  curl -sf -u admin:ui-admin-password -H 'Content-Type: application/json' \
    "http://127.0.0.1:$port/api/2.0/mlflow/users/create" -d '{"username":"ui-reader","password":"ui-reader-password"}' >/dev/null
fi
out="$ROOT/ui-tests/results${UI_AUTH:+-auth}"
rm -rf "$out"
node ui-tests/browse.mjs "http://127.0.0.1:$port" "$seed" "$out"
