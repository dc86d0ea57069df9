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
"$BIN" server --backend-store-uri "sqlite:///$work/ui.db" --artifacts-destination "$work/artifacts" \
  --port "$port" --ui-dir "$ui" --serving-dir "$work/serving" --serving-python "$PY" >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
seed=$("$PY" ui-tests/seed.py "http://127.0.0.1:$port" 2>/dev/null | tail -1)
rm -rf ui-tests/results
node ui-tests/browse.mjs "http://127.0.0.1:$port" "$seed" "$ROOT/ui-tests/results"
