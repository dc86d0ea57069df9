"""Runs through the stock client: lifecycle, params, metrics, tags, inputs, delete/restore and errors."""
import math

import mlflow
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException


def test_start_and_end_run(experiment_id, client):
    with mlflow.start_run(run_name="first") as run:
        pass
    got = client.get_run(run.info.run_id)
    assert got.info.status == "FINISHED"
    assert got.info.end_time is not None and got.info.end_time >= got.info.start_time
    assert got.info.run_name == "first"
    assert got.data.tags["mlflow.runName"] == "first"
    assert got.info.artifact_uri == f"mlflow-artifacts:/{experiment_id}/{run.info.run_id}/artifacts"


def test_failed_run_when_block_raises(experiment_id, client):
    with pytest.raises(ValueError):
        with mlflow.start_run() as run:
            raise ValueError("boom")
    assert client.get_run(run.info.run_id).info.status == "FAILED"


def test_explicit_end_run_status(experiment_id, client):
    run = mlflow.start_run()
    mlflow.end_run(status="KILLED")
    assert client.get_run(run.info.run_id).info.status == "KILLED"


def test_generated_run_name(experiment_id, client):
    with mlflow.start_run() as run:
        pass
    name = client.get_run(run.info.run_id).info.run_name
    assert name and len(name.split("-")) == 3


def test_log_param_and_params(experiment_id, client):
    with mlflow.start_run() as run:
        mlflow.log_param("alpha", 0.5)
        mlflow.log_params({"beta": 2, "gamma": "x"})
        mlflow.log_param("alpha", 0.5)  # same value again is fine
    assert client.get_run(run.info.run_id).data.params == {"alpha": "0.5", "beta": "2", "gamma": "x"}


def test_conflicting_param_error(experiment_id):
    with mlflow.start_run():
        mlflow.log_param("alpha", 0.5)
        with pytest.raises(MlflowException) as e:
            mlflow.log_param("alpha", 0.9)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "Changing param values is not allowed" in e.value.message


def test_conflicting_params_in_batch_error(experiment_id):
    with mlflow.start_run():
        mlflow.log_params({"a": 1})
        with pytest.raises(MlflowException) as e:
            mlflow.log_params({"a": 2, "b": 3})
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_long_param_value_truncated(experiment_id, client):
    with mlflow.start_run() as run:
        client.log_param(run.info.run_id, "long", "v" * 7000)
    assert len(client.get_run(run.info.run_id).data.params["long"]) == 6000


def test_invalid_key_error(experiment_id, client):
    with mlflow.start_run() as run:
        with pytest.raises(MlflowException) as e:
            client.log_metric(run.info.run_id, "bad$name", 1.0)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_log_metric_with_steps(experiment_id, client):
    with mlflow.start_run() as run:
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    hist = client.get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in hist] == [0, 1, 2, 3, 4]
    assert client.get_run(run.info.run_id).data.metrics["loss"] == pytest.approx(0.2)


def test_log_metrics_batch(experiment_id, client):
    with mlflow.start_run() as run:
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=3)
    data = client.get_run(run.info.run_id).data
    assert data.metrics == {"acc": 0.9, "f1": 0.8}


def test_nan_and_infinite_metrics(experiment_id, client):
    with mlflow.start_run() as run:
        mlflow.log_metric("nan", float("nan"))
        mlflow.log_metric("inf", float("inf"))
    metrics = client.get_run(run.info.run_id).data.metrics
    assert math.isnan(metrics["nan"])
    assert metrics["inf"] > 1e308


def test_set_and_delete_tags(experiment_id, client):
    with mlflow.start_run() as run:
        mlflow.set_tag("team", "vision")
        mlflow.set_tags({"a": "1", "b": "2"})
        client.delete_tag(run.info.run_id, "a")
    tags = client.get_run(run.info.run_id).data.tags
    assert tags["team"] == "vision" and tags["b"] == "2" and "a" not in tags


def test_rename_run_via_tag(experiment_id, client):
    with mlflow.start_run() as run:
        mlflow.set_tag("mlflow.runName", "renamed")
    assert client.get_run(run.info.run_id).info.run_name == "renamed"


def test_log_input_dataset(experiment_id, client):
    df = pd.DataFrame({"x": [1, 2, 3], "y": [0, 1, 0]})
    dataset = mlflow.data.from_pandas(df, name="toy", targets="y")
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training")
    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert len(inputs) == 1
    assert inputs[0].dataset.name == "toy"
    assert inputs[0].dataset.digest == dataset.digest
    assert {t.key: t.value for t in inputs[0].tags}["mlflow.data.context"] == "training"


def test_delete_and_restore_run(experiment_id, client):
    with mlflow.start_run() as run:
        pass
    client.delete_run(run.info.run_id)
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    with pytest.raises(MlflowException) as e:
        client.log_param(run.info.run_id, "p", "1")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    client.restore_run(run.info.run_id)
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "active"


def test_get_missing_run_error(client):
    with pytest.raises(MlflowException) as e:
        client.get_run("0123456789abcdef0123456789abcdef")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_create_run_in_missing_experiment_error(client):
    with pytest.raises(MlflowException) as e:
        client.create_run("99999")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
