"""Workspaces (`--enable-workspaces`) with the stock client: MlflowClient's workspace API, and
`mlflow.set_workspace` keeping experiments, runs, artifacts and registered models apart (the same names in
two workspaces, nothing of one seen from the other), and stock's deletion rules.

A server of its own (SQLite, or the postgresql pass's shared database). HARVESTER_COMPAT_WORKSPACES_URL runs
the file against an already running server instead, e.g. a stock
`mlflow server --enable-workspaces --serve-artifacts`.
"""
import os
import uuid

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from conftest import own_harvester

EXTERNAL = os.environ.get("HARVESTER_COMPAT_WORKSPACES_URL")

if not EXTERNAL and bool(os.environ.get("HARVESTER_COMPAT_STORE_URI")) != bool(os.environ.get("HARVESTER_COMPAT_ARTIFACTS")):
    pytest.skip("workspaces run on the sqlite/local and postgresql/s3 passes", allow_module_level=True)


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    if EXTERNAL:
        yield EXTERNAL.rstrip("/")
        return
    tmp = tmp_path_factory.mktemp("workspaces")
    store = os.environ.get("HARVESTER_COMPAT_STORE_URI") or f"sqlite:///{tmp}/ws.db"
    with own_harvester(tmp, "--enable-workspaces", store=store) as u:
        yield u


@pytest.fixture
def client(url, monkeypatch):
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(url)
    yield MlflowClient(url)
    mlflow.set_workspace(None)
    mlflow.set_tracking_uri(previous)


def _name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_workspace_api(client):
    ws = _name("team")
    created = client.create_workspace(ws, description="the team's")
    assert (created.name, created.description) == (ws, "the team's")
    assert {"default", ws} <= {w.name for w in client.list_workspaces()}
    assert client.get_workspace(ws).description == "the team's"
    assert client.update_workspace(ws, description="renamed").description == "renamed"
    with pytest.raises(MlflowException, match="already exists"):
        client.create_workspace(ws)
    with pytest.raises(MlflowException) as e:
        client.get_workspace(_name("nope"))
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    client.delete_workspace(ws)
    assert ws not in {w.name for w in client.list_workspaces()}


def test_resources_stay_in_their_workspace(client, tmp_path):
    ws = _name("team")
    client.create_workspace(ws)
    shared, model = _name("shared"), _name("model")

    mlflow.set_workspace(ws)
    exp_a = client.create_experiment(shared)
    assert f"workspaces/{ws}" in client.get_experiment(exp_a).artifact_location
    with mlflow.start_run(experiment_id=exp_a) as run:
        mlflow.log_param("p", "a")
        mlflow.log_metric("m", 1.0)
        (tmp_path / "note.txt").write_text("team a")
        mlflow.log_artifact(str(tmp_path / "note.txt"))
    run_a = run.info.run_id
    client.create_registered_model(model, tags={"team": "a"})
    client.create_model_version(model, f"runs:/{run_a}/model", run_id=run_a)

    mlflow.set_workspace(None)
    exp_d = client.create_experiment(shared)
    assert exp_d != exp_a
    assert client.get_experiment_by_name(shared).experiment_id == exp_d
    assert exp_a not in {e.experiment_id for e in client.search_experiments(max_results=1000)}
    with pytest.raises(MlflowException) as e:
        client.get_run(run_a)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.search_runs([exp_a]) == []
    assert model not in {m.name for m in client.search_registered_models(max_results=1000)}
    client.create_registered_model(model)
    assert client.get_registered_model(model).tags == {}

    mlflow.set_workspace(ws)
    assert client.get_experiment_by_name(shared).experiment_id == exp_a
    got = client.get_run(run_a)
    assert got.data.params == {"p": "a"}
    path = client.download_artifacts(run_a, "note.txt", str(tmp_path / "down"))
    assert open(path).read() == "team a"
    rm = client.get_registered_model(model)
    assert rm.tags == {"team": "a"}
    assert [v.version for v in rm.latest_versions] == ["1"]

    # RESTRICT (the default) refuses a workspace that still holds anything; SET_DEFAULT refuses when a name
    # is taken in `default`. (Stock answers INVALID_STATE with a 500, Harvester with a 400: the message is
    # only seen from Harvester, the refusal from both.)
    mlflow.set_workspace(None)
    with pytest.raises(MlflowException, match="Cannot delete workspace|500"):
        client.delete_workspace(ws)
    with pytest.raises(MlflowException, match="conflict|500"):
        client.delete_workspace(ws, mode="SET_DEFAULT")
    assert ws in {w.name for w in client.list_workspaces()}


def test_unknown_workspace_is_refused(client):
    mlflow.set_workspace(_name("ghost"))
    with pytest.raises(MlflowException) as e:
        client.search_experiments()
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
