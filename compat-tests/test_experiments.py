"""Experiments through the stock client: set_experiment, search, rename, delete/restore, tags, errors."""
import os
import uuid

import mlflow
import pytest
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException


def test_default_experiment_exists(client):
    exp = client.get_experiment("0")
    assert exp.name == "Default"
    assert exp.lifecycle_stage == "active"


def test_set_experiment_creates_new(exp_name):
    exp = mlflow.set_experiment(exp_name)
    assert exp.name == exp_name
    assert exp.artifact_location == f"mlflow-artifacts:/{exp.experiment_id}"


def test_set_experiment_reuses_existing(exp_name):
    first = mlflow.set_experiment(exp_name)
    second = mlflow.set_experiment(exp_name)
    assert first.experiment_id == second.experiment_id


def test_get_experiment_by_name_missing_is_none(client):
    assert client.get_experiment_by_name(f"missing-{uuid.uuid4().hex}") is None


def test_create_duplicate_experiment_error(client, exp_name):
    client.create_experiment(exp_name)
    with pytest.raises(MlflowException) as e:
        client.create_experiment(exp_name)
    assert e.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_get_missing_experiment_error(client):
    with pytest.raises(MlflowException) as e:
        client.get_experiment("987654")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_delete_and_restore_experiment(client, exp_name):
    exp_id = client.create_experiment(exp_name)
    run = client.create_run(exp_id)
    client.delete_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    with pytest.raises(MlflowException, match="deleted"):
        mlflow.set_experiment(exp_name)
    with pytest.raises(MlflowException) as e:
        client.create_experiment(exp_name)
    assert e.value.error_code == "RESOURCE_ALREADY_EXISTS"
    client.restore_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "active"
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "active"


def test_rename_experiment(client, exp_name):
    exp_id = client.create_experiment(exp_name)
    client.rename_experiment(exp_id, exp_name + "-renamed")
    assert client.get_experiment(exp_id).name == exp_name + "-renamed"


def test_rename_deleted_experiment_error(client, exp_name):
    exp_id = client.create_experiment(exp_name)
    client.delete_experiment(exp_id)
    with pytest.raises(MlflowException) as e:
        client.rename_experiment(exp_id, exp_name + "-x")
    # Harvester answers INVALID_STATE with HTTP 400; stock MLflow sends it as a 500, which the client retries
    # and finally reports as INTERNAL_ERROR. Against a stock server (HARVESTER_COMPAT_URL) accept that.
    allowed = {"INVALID_STATE", "INTERNAL_ERROR"} if os.environ.get("HARVESTER_COMPAT_URL") else {"INVALID_STATE"}
    assert e.value.error_code in allowed


def test_experiment_tags(client, exp_name):
    exp_id = client.create_experiment(exp_name, tags={"team": "vision"})
    client.set_experiment_tag(exp_id, "stage", "dev")
    assert client.get_experiment(exp_id).tags == {"team": "vision", "stage": "dev"}
    client.delete_experiment_tag(exp_id, "stage")
    assert client.get_experiment(exp_id).tags == {"team": "vision"}


def test_search_experiments_filter_and_order(client):
    prefix = f"srch-{uuid.uuid4().hex[:8]}"
    for suffix in ["b", "a", "c"]:
        client.create_experiment(f"{prefix}-{suffix}", tags={"group": prefix})
    found = client.search_experiments(filter_string=f"name LIKE '{prefix}-%'", order_by=["name ASC"])
    assert [e.name for e in found] == [f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"]
    tagged = client.search_experiments(filter_string=f"tags.group = '{prefix}'")
    assert len(tagged) == 3
    page = client.search_experiments(filter_string=f"name LIKE '{prefix}-%'", max_results=2)
    assert len(page) == 2 and page.token
    rest = client.search_experiments(filter_string=f"name LIKE '{prefix}-%'", max_results=2, page_token=page.token)
    assert len(rest) == 1 and not rest.token


def test_search_experiments_view_type(client, exp_name):
    exp_id = client.create_experiment(exp_name)
    client.delete_experiment(exp_id)
    deleted = client.search_experiments(view_type=ViewType.DELETED_ONLY, filter_string=f"name = '{exp_name}'")
    active = client.search_experiments(view_type=ViewType.ACTIVE_ONLY, filter_string=f"name = '{exp_name}'")
    assert [e.experiment_id for e in deleted] == [exp_id]
    assert active == []
