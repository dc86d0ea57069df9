"""Logged models and the model registry through the stock client: log, register, alias, load, stages,
searches, rename, delete, prompts."""
import textwrap
import uuid

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LogisticRegression

X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [0.5, 0.2], [0.1, 0.9]])
Y = np.array([0, 1, 1, 0, 1, 0])


def _name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def sk_model(experiment_id):
    model = LogisticRegression().fit(X, Y)
    with mlflow.start_run() as run:
        mlflow.log_param("C", 1.0)
        info = mlflow.sklearn.log_model(model, name="model", input_example=X[:2])
        mlflow.log_metric("acc", 0.75, model_id=info.model_id)
    return model, info, run


def test_log_register_alias_and_load(client, sk_model):
    model, info, run = sk_model
    name = _name("sk")
    # The logged model: finalized, linked to the run, with its params and metric.
    lm = mlflow.get_logged_model(info.model_id)
    assert lm.status == "READY" or str(lm.status).endswith("READY")
    assert lm.source_run_id == run.info.run_id
    assert lm.params == {"C": "1.0"}
    assert [(m.key, m.value) for m in lm.metrics] == [("acc", 0.75)]
    assert client.get_run(run.info.run_id).outputs.model_outputs[0].model_id == info.model_id

    v1 = mlflow.register_model(f"models:/{info.model_id}", name)
    v2 = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
    assert (v1.version, v2.version) == ("1", "2")
    assert v1.status == "READY"
    client.set_registered_model_alias(name, "champion", "1")
    mv = client.get_model_version_by_alias(name, "champion")
    assert mv.version == "1" and mv.aliases == ["champion"]
    assert client.get_registered_model(name).aliases == {"champion": "1"}
    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    assert list(loaded.predict(X)) == list(model.predict(X))
    again = mlflow.sklearn.load_model(f"models:/{name}/2")
    assert list(again.predict(X)) == list(model.predict(X))
    assert client.get_model_version_download_uri(name, "1") == info.model_uri.replace(
        f"models:/{info.model_id}", lm.artifact_location
    ) or client.get_model_version_download_uri(name, "1") == lm.artifact_location
    # The logged model lists its registrations.
    tags = mlflow.get_logged_model(info.model_id).tags
    assert '"version": 1' in tags["mlflow.modelVersions"] or "'version': 1" in tags["mlflow.modelVersions"]
    # Unknown alias: the client raises (400 INVALID_PARAMETER_VALUE, as the stock server).
    with pytest.raises(MlflowException) as e:
        client.get_model_version_by_alias(name, "nope")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    client.delete_registered_model_alias(name, "champion")
    assert client.get_registered_model(name).aliases == {}


def test_model_from_code(experiment_id, tmp_path):
    code = tmp_path / "my_model.py"
    code.write_text(textwrap.dedent("""
        import mlflow
        from mlflow.pyfunc import PythonModel

        class Doubler(PythonModel):
            def predict(self, context, model_input, params=None):
                return [2 * x for x in model_input["x"]]

        mlflow.models.set_model(Doubler())
    """))
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="doubler", python_model=str(code),
                                       input_example=pd.DataFrame({"x": [1, 2]}))
    name = _name("code")
    mlflow.register_model(info.model_uri, name)
    loaded = mlflow.pyfunc.load_model(f"models:/{name}/1")
    assert list(loaded.predict(pd.DataFrame({"x": [1, 2, 3]}))) == [2, 4, 6]
    assert list(mlflow.pyfunc.load_model(info.model_uri).predict(pd.DataFrame({"x": [5]}))) == [10]


def test_stages_search_rename_delete(client, sk_model):
    _, info, run = sk_model
    name = _name("stages")
    client.create_registered_model(name, tags={"team": "vision"}, description="d1")
    for _ in range(3):
        client.create_model_version(name, f"models:/{info.model_id}", run_id=run.info.run_id,
                                    model_id=info.model_id)
    with pytest.warns(FutureWarning):
        client.transition_model_version_stage(name, "1", "staging")
    client.transition_model_version_stage(name, "2", "Production")
    client.transition_model_version_stage(name, "3", "Production", archive_existing_versions=True)
    stages = {v.version: v.current_stage for v in client.search_model_versions(f"name = '{name}'")}
    assert stages == {"1": "Staging", "2": "Archived", "3": "Production"}
    latest = client.get_latest_versions(name)
    assert sorted((v.current_stage, v.version) for v in latest) == [
        ("Archived", "2"), ("Production", "3"), ("Staging", "1")]
    assert [v.version for v in client.get_latest_versions(name, stages=["Production"])] == ["3"]

    client.set_model_version_tag(name, "2", "quality", "high")
    found = client.search_model_versions(f"name = '{name}' and tags.quality = 'high'")
    assert [v.version for v in found] == ["2"]
    ordered = client.search_model_versions(f"name='{name}'", order_by=["version_number ASC"])
    assert [v.version for v in ordered] == ["1", "2", "3"]
    found = client.search_model_versions(f"run_id = '{run.info.run_id}' and version_number > 1")
    assert sorted(v.version for v in found if v.name == name) == ["2", "3"]
    models = client.search_registered_models(filter_string=f"name LIKE '{name[:8]}%' and tags.team = 'vision'")
    assert [m.name for m in models] == [name]
    assert models[0].description == "d1"
    page = client.search_registered_models(max_results=1, order_by=["last_updated_timestamp DESC"])
    assert len(page) == 1 and page.token

    renamed = name + "-renamed"
    client.rename_registered_model(name, renamed)
    assert [v.version for v in client.search_model_versions(f"name = '{renamed}'", order_by=["version_number"])] == [
        "1", "2", "3"]
    tags = client.get_model_version(renamed, "2").tags
    # Harvester's scanner adds its own harvester.scan.* tags; the client's are kept as set.
    assert {k: v for k, v in tags.items() if not k.startswith("harvester.scan.")} == {"quality": "high"}
    client.delete_model_version(renamed, "3")
    with pytest.raises(MlflowException) as e:
        client.get_model_version(renamed, "3")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    # Numbers are never reused.
    v = client.create_model_version(renamed, f"models:/{info.model_id}", model_id=info.model_id)
    assert v.version == "4"
    client.delete_registered_model(renamed)
    with pytest.raises(MlflowException) as e:
        client.get_registered_model(renamed)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_prompts(client):
    name = _name("prompt")
    p = mlflow.genai.register_prompt(name=name, template="Hello {{name}}, you are {{age}}.")
    assert p.version == 1
    p2 = mlflow.genai.register_prompt(name=name, template="Hi {{name}}!", commit_message="shorter")
    assert p2.version == 2
    loaded = mlflow.genai.load_prompt(f"prompts:/{name}/1")
    assert loaded.format(name="Ada", age=36) == "Hello Ada, you are 36."
    assert mlflow.genai.load_prompt(f"prompts:/{name}/2").template == "Hi {{name}}!"
    # Prompts stay out of model searches unless asked for.
    assert name not in [m.name for m in client.search_registered_models()]
    prompts = client.search_registered_models(filter_string="tags.`mlflow.prompt.is_prompt` = 'true'")
    assert name in [m.name for m in prompts]
