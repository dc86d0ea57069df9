"""`--expose-prometheus DIR` (MLflow's flag): `/metrics` parses with Prometheus's own OpenMetrics parser, and
its request counters, latency histogram and artifact bytes move as the stock client works."""
import os

import mlflow
import pytest
import requests
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from conftest import own_harvester

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("HARVESTER_COMPAT_URL")), reason="Harvester's own metrics"
)


def scrape(url):
    r = requests.get(url + "/metrics", timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/openmetrics-text")
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    return families


def value(families, name, **labels):
    fam = families.get(name)
    if fam is None:
        return 0.0
    return sum(
        s.value
        for s in fam.samples
        if all(s.labels.get(k) == v for k, v in labels.items()) and not s.name.endswith("_created")
    )


def test_metrics_move_with_requests(tmp_path):
    prom = tmp_path / "prom"
    store = os.environ.get("HARVESTER_COMPAT_STORE_URI") or f"sqlite:///{tmp_path}/prom.db"
    with own_harvester(tmp_path, "--expose-prometheus", str(prom), store=store) as url:
        assert prom.is_dir(), "the directory is made, as stock makes it"
        before = scrape(url)
        client = mlflow.MlflowClient(url)
        exp = client.create_experiment("prometheus")
        run = client.create_run(exp)
        for step in range(5):
            client.log_metric(run.info.run_id, "loss", 1.0 / (step + 1), step=step)
        (tmp_path / "a.txt").write_text("x" * 1000)
        # `mlflow-artifacts:` resolves against the global tracking URI: point it here, and back after.
        previous = mlflow.get_tracking_uri()
        mlflow.set_tracking_uri(url)
        try:
            client.log_artifact(run.info.run_id, str(tmp_path / "a.txt"))
            client.download_artifacts(run.info.run_id, "a.txt", str(tmp_path / "down"))
        finally:
            mlflow.set_tracking_uri(previous)
        requests.get(url + "/api/2.0/mlflow/runs/get", params={"run_id": "nope"}, timeout=10)
        # A version queues its scan (on the postgresql pass the shared database's other server may take it).
        client.create_registered_model("prometheus-model")
        client.create_model_version("prometheus-model", f"runs:/{run.info.run_id}/model", run.info.run_id)
        after = scrape(url)

        route = "/api/2.0/mlflow/runs/log-metric"
        assert value(after, "harvester_http_requests", route=route, status="200") - value(
            before, "harvester_http_requests", route=route, status="200"
        ) == 5
        # Ids never become labels: the failed lookup counts under its route template.
        assert value(after, "harvester_http_requests", route="/api/2.0/mlflow/runs/get", status="404") >= 1
        latency = after["harvester_http_request_duration_seconds"]
        counts = [s for s in latency.samples if s.name.endswith("_count") and s.labels.get("route") == route]
        assert counts and counts[0].value == 5
        assert value(after, "harvester_artifact_bytes", direction="in") >= 1000
        if not os.environ.get("HARVESTER_COMPAT_ARTIFACTS"):
            # On S3 the client downloads from a presigned URL: no byte goes out through the proxy.
            assert value(after, "harvester_artifact_bytes", direction="out") >= 1000
        assert "harvester_db_pool_connections" in after
        assert "harvester_http_requests_in_flight" in after
        assert value(after, "harvester_jobs", kind="scan.version") >= 1
        assert "harvester_jobs_lag_seconds" in after or value(after, "harvester_jobs", state="queued") == 0
        assert value(after, "harvester_scans") >= 1


def test_metrics_are_off_by_default(server_url):
    r = requests.get(server_url + "/metrics", timeout=10)
    assert r.status_code == 404
    assert r.json()["error_code"] == "ENDPOINT_NOT_FOUND"
