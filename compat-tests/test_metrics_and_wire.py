"""Metric history past the client's 25,000-point page, and raw wire-level error cases (code and status)."""
import time

import mlflow
import pytest
from mlflow.entities import Metric

from conftest import api


def test_metric_history_past_25000_points(experiment_id, client):
    n = 30_000
    now = int(time.time() * 1000)
    with mlflow.start_run() as run:
        metrics = [Metric("curve", float(i), now + i, i) for i in range(n)]
        client.log_batch(run.info.run_id, metrics=metrics)  # the client splits into 1000-metric batches
    hist = client.get_metric_history(run.info.run_id, "curve")
    assert len(hist) == n
    assert [m.step for m in hist[:3]] == [0, 1, 2]
    assert hist[-1].step == n - 1


def test_get_history_bulk_interval(experiment_id, server_url):
    with mlflow.start_run() as run:
        for step in range(50):
            mlflow.log_metric("m", step, step=step)
    r = api(server_url, "GET", "metrics/get-history-bulk-interval",
            params={"run_ids": run.info.run_id, "metric_key": "m", "max_results": 10})
    assert r.status_code == 200
    steps = [m["step"] for m in r.json()["metrics"]]
    assert len(steps) == 10 and steps[0] == 0 and steps[-1] == 49


@pytest.mark.parametrize(
    "method,path,kwargs,status,code",
    [
        ("POST", "experiments/create", {"data": '{"name": "x"}'}, 400, "INVALID_PARAMETER_VALUE"),
        ("POST", "experiments/create", {"data": "{oops", "headers": {"Content-Type": "application/json"}}, 400, "INVALID_PARAMETER_VALUE"),
        ("POST", "experiments/create", {"json": {}}, 400, "INVALID_PARAMETER_VALUE"),
        ("POST", "experiments/search", {"json": {}}, 400, "INVALID_PARAMETER_VALUE"),
        ("GET", "experiments/get", {"params": {"experiment_id": "abc"}}, 400, "INVALID_PARAMETER_VALUE"),
        ("GET", "experiments/get-by-name", {"params": {"experiment_name": "no-such-exp"}}, 404, "RESOURCE_DOES_NOT_EXIST"),
        ("GET", "runs/get", {}, 400, "INVALID_PARAMETER_VALUE"),
        ("POST", "runs/search", {"json": {"experiment_ids": ["0"], "max_results": 50001}}, 400, "INVALID_PARAMETER_VALUE"),
        ("POST", "runs/search", {"json": {"experiment_ids": ["0"], "page_token": "garbage"}}, 400, "INVALID_PARAMETER_VALUE"),
        ("POST", "runs/create", {"json": {}}, 400, "BAD_REQUEST"),
        ("POST", "runs/log-metric", {"json": {"run_id": "0" * 32, "key": "k", "value": 1, "timestamp": 1}}, 404, "RESOURCE_DOES_NOT_EXIST"),
    ],
)
def test_wire_errors(server_url, method, path, kwargs, status, code):
    r = api(server_url, method, path, **kwargs)
    assert r.status_code == status, r.text
    assert r.json()["error_code"] == code


def test_log_batch_over_limit(experiment_id, server_url):
    with mlflow.start_run() as run:
        metrics = [{"key": "m", "value": i, "timestamp": 1, "step": i} for i in range(1001)]
        r = api(server_url, "POST", "runs/log-batch", json={"run_id": run.info.run_id, "metrics": metrics})
    assert r.status_code == 400
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "at most 1000 metrics" in r.json()["message"]


def test_search_runs_is_post_only(server_url):
    assert api(server_url, "GET", "runs/search").status_code == 405


def test_ajax_prefix_and_camel_case(experiment_id, server_url):
    import requests

    r = requests.post(f"{server_url}/ajax-api/2.0/mlflow/runs/create", json={"experimentId": experiment_id, "runName": "camel"})
    assert r.status_code == 200
    assert r.json()["run"]["info"]["run_name"] == "camel"
    assert isinstance(r.json()["run"]["info"]["start_time"], int)
