"""Package the submission: `python make_submission.py` writes `submission.zip` beside this file.

The zip holds one MLflow model saved from `model.py` (models from code, so the scan can read every
line of it), with its signature, an input example and pinned requirements. Upload that zip to the
competition. Check it first with `harvester scan submission.zip` if you have Harvester.
"""

import pathlib
import shutil
import tempfile
import sys
import zipfile
from types import SimpleNamespace

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from model import SubmissionModel  # noqa: E402

# Files the model loads in load_context, by name (they end up in context.artifacts).
ARTIFACTS = {"weights": str(HERE / "weights.json")}

# A few rows of the competition's input: columns and types define the served API.
INPUT_EXAMPLE = pd.DataFrame({"x1": [1.0, 2.0, 3.5], "x2": [0.5, -1.0, 2.0]})

# Every requirement pinned with ==, to the versions you tested with.
REQUIREMENTS = [
    f"mlflow=={mlflow.__version__}",
    f"pandas=={pd.__version__}",
    f"numpy=={np.__version__}",
]


def build(out: pathlib.Path) -> pathlib.Path:
    """Save the model into a scratch folder and zip it as `out`."""
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="submission-"))
    try:
        model_dir = scratch / "model"
        # The output of a prediction on the example fixes the output schema.
        model = SubmissionModel()
        model.load_context(SimpleNamespace(artifacts=ARTIFACTS))
        output = model.predict(None, INPUT_EXAMPLE)
        mlflow.pyfunc.save_model(
            path=str(model_dir),
            python_model=str(HERE / "model.py"),
            artifacts=ARTIFACTS,
            signature=infer_signature(INPUT_EXAMPLE, output),
            input_example=INPUT_EXAMPLE,
            pip_requirements=REQUIREMENTS,
        )
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for p in sorted(model_dir.rglob("*")):
                if p.is_file():
                    z.write(p, p.relative_to(model_dir).as_posix())
        return out
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    print(build(HERE / "submission.zip"))
