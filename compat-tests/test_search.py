"""search_runs through the stock client: filters, order_by, pagination, view types and errors."""
import mlflow
import pandas as pd
import pytest
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException


@pytest.fixture
def seeded(experiment_id):
    ids = {}
    for i, name in enumerate(["r0", "r1", "r2", "r3", "r4"]):
        with mlflow.start_run(run_name=name) as run:
            mlflow.log_param("lr", f"0.{i}")
            mlflow.log_metric("acc", i / 10)
            mlflow.set_tag("team", "Vision" if i % 2 == 0 else "nlp")
            if i == 4:
                ds = mlflow.data.from_pandas(pd.DataFrame({"a": [1]}), name="holdout")
                mlflow.log_input(ds, context="eval")
        ids[name] = run.info.run_id
    return experiment_id, ids


def names(runs):
    return [r.info.run_name for r in runs]


def test_filter_metric(client, seeded):
    exp, _ = seeded
    assert sorted(names(client.search_runs([exp], "metrics.acc >= 0.3"))) == ["r3", "r4"]


def test_filter_param(client, seeded):
    exp, _ = seeded
    assert names(client.search_runs([exp], "params.lr = '0.2'")) == ["r2"]


def test_filter_tag_like_and_ilike(client, seeded):
    exp, _ = seeded
    assert len(client.search_runs([exp], "tags.team LIKE 'V%'")) == 3
    assert len(client.search_runs([exp], "tags.team LIKE 'v%'")) == 0
    assert len(client.search_runs([exp], "tags.team ILIKE 'v%'")) == 3


def test_filter_attributes_and_in(client, seeded):
    exp, ids = seeded
    assert names(client.search_runs([exp], "attributes.run_name = 'r1'")) == ["r1"]
    found = client.search_runs([exp], f"attributes.run_id IN ('{ids['r0']}', '{ids['r3']}')", order_by=["attributes.run_name"])
    assert names(found) == ["r0", "r3"]
    assert len(client.search_runs([exp], "attributes.status = 'FINISHED'")) == 5


def test_filter_dataset(client, seeded):
    exp, _ = seeded
    assert names(client.search_runs([exp], "datasets.name = 'holdout'")) == ["r4"]
    assert names(client.search_runs([exp], "dataset.context = 'eval'")) == ["r4"]


def test_filter_backtick_key_and_null(client, seeded):
    exp, _ = seeded
    assert names(client.search_runs([exp], "tags.`mlflow.runName` = 'r2'")) == ["r2"]
    assert len(client.search_runs([exp], "params.missing IS NULL")) == 5


def test_order_by_metric_and_default_order(client, seeded):
    exp, _ = seeded
    assert names(client.search_runs([exp], order_by=["metrics.acc DESC"])) == ["r4", "r3", "r2", "r1", "r0"]
    assert names(client.search_runs([exp])) == ["r4", "r3", "r2", "r1", "r0"]  # start_time DESC
    assert names(client.search_runs([exp], order_by=["params.lr ASC"])) == ["r0", "r1", "r2", "r3", "r4"]


def test_pagination(client, seeded):
    exp, _ = seeded
    page = client.search_runs([exp], max_results=2)
    seen = names(page)
    while page.token:
        page = client.search_runs([exp], max_results=2, page_token=page.token)
        seen += names(page)
    assert seen == ["r4", "r3", "r2", "r1", "r0"]


def test_fluent_search_runs_dataframe(seeded, exp_name):
    df = mlflow.search_runs(experiment_names=[exp_name], filter_string="metrics.acc > 0.1", order_by=["metrics.acc ASC"])
    assert list(df["tags.mlflow.runName"]) == ["r2", "r3", "r4"]
    assert "params.lr" in df.columns


def test_run_view_type(client, seeded):
    exp, ids = seeded
    client.delete_run(ids["r0"])
    assert len(client.search_runs([exp], run_view_type=ViewType.ACTIVE_ONLY)) == 4
    assert names(client.search_runs([exp], run_view_type=ViewType.DELETED_ONLY)) == ["r0"]
    assert len(client.search_runs([exp], run_view_type=ViewType.ALL)) == 5


def test_invalid_filter_error(client, seeded):
    exp, _ = seeded
    with pytest.raises(MlflowException) as e:
        client.search_runs([exp], "metrics.acc > 1 OR metrics.acc < 0")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as e:
        client.search_runs([exp], "nope.x = '1'")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
