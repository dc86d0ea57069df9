"""A database made by stock `mlflow server` 3.17.2 (its real schema, from the installed mlflow package).

Harvester cannot serve MLflow's own schema yet (issue 11 tracks it); until it can, it must refuse such a
database with a clear message and leave it untouched, rather than failing half-way through its migrations.
"""

import os
import sqlite3
import subprocess

import pytest

from conftest import ROOT

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("HARVESTER_COMPAT_URL") or os.environ.get("HARVESTER_COMPAT_STORE_URI")
         or os.environ.get("HARVESTER_COMPAT_ARTIFACTS")),
    reason="starts its own servers on SQLite; runs once, in the sqlite/local round",
)


def _schema(path):
    with sqlite3.connect(path) as c:
        return sorted(c.execute("SELECT type, name, sql FROM sqlite_master").fetchall(), key=str)


def test_stock_database_is_refused_and_left_alone(tmp_path):
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    db = tmp_path / "stock.db"
    store = SqlAlchemyStore(f"sqlite:///{db}", str(tmp_path / "artifacts"))
    exp = store.create_experiment("made-by-stock")
    store.create_run(exp, "someone", 1, [], "stock-run")
    store.engine.dispose()
    before = _schema(db)
    (rev,) = sqlite3.connect(db).execute("SELECT version_num FROM alembic_version").fetchone()

    binary = os.environ.get("HARVESTER_BIN", str(ROOT / "target" / "debug" / "harvester"))
    proc = subprocess.run(
        [binary, "server", "--backend-store-uri", f"sqlite:///{db}", "--port", "0",
         "--artifacts-destination", str(tmp_path / "mlartifacts")],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    message = proc.stderr
    assert f"created by `mlflow server` (alembic revision {rev}" in message, message
    assert "MLflow 3.17.2's schema" in message, message
    assert "changed nothing" in message
    assert _schema(db) == before, "the stock database was modified"
