"""Your model, behind the competition's one interface.

Harvester serves every submission the same way: it loads this file with MLflow ("models from code")
and calls `predict(context, model_input, params=None)` with a pandas DataFrame of the competition's
input columns. Replace the scoring below with your own; keep the class, the signature and the last
line. Load what your model needs from files listed in `make_submission.py`'s ARTIFACTS (they arrive in
`context.artifacts`), never from the network, the environment or paths outside the model.
"""

import json

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class SubmissionModel(PythonModel):
    def load_context(self, context):
        # Files named in make_submission.py's ARTIFACTS, copied into the model.
        with open(context.artifacts["weights"], encoding="utf-8") as f:
            self.weights = json.load(f)

    def predict(self, context, model_input, params=None):
        """One prediction per input row: a DataFrame in, a DataFrame out."""
        w = self.weights
        score = w["bias"] + sum(w["coef"][c] * model_input[c] for c in w["coef"])
        return pd.DataFrame({"score": score.astype("float64")})


mlflow.models.set_model(SubmissionModel())
