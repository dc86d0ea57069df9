"""Seed the data the UI test browses, with the stock mlflow client; prints the ids as JSON."""
import json
import sys
import tempfile

import mlflow
import numpy as np
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

mlflow.set_tracking_uri(sys.argv[1])
client = MlflowClient()
exp_id = mlflow.set_experiment("ui-harvest").experiment_id
runs = []
for name, lr in [("baseline-run", 0.1), ("tuned-run", 0.01)]:
    with mlflow.start_run(run_name=name) as run:
        mlflow.log_params({"learning_rate": lr, "layers": 3})
        mlflow.set_tags({"team": "vision", "stage": "ui-test"})
        for step in range(20):
            mlflow.log_metric("loss", 1.0 / (step + 1) + lr, step=step)
            mlflow.log_metric("accuracy", 0.5 + step * 0.02, step=step)
        mlflow.log_text("Harvester artifact preview works.\n", "notes/readme.txt")
        X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
        model = LogisticRegression(C=1 / lr).fit(X, np.array([0, 1, 1, 0]))
        info = mlflow.sklearn.log_model(model, name="model", input_example=X[:2])
        runs.append((run.info.run_id, info.model_id))
name = "ui-harvest-model"
client.create_registered_model(name, description="A model for the UI test")
for run_id, model_id in runs:
    client.create_model_version(name, f"models:/{model_id}", run_id=run_id, model_id=model_id)
client.set_registered_model_alias(name, "champion", "2")
print(json.dumps({"experiment_id": exp_id, "runs": [r for r, _ in runs], "model": name}))
