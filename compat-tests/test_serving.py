"""Serving: every scanned version is a REST service at /serving/{model}/{ref}/…

Side by side: each model is also served by a real `mlflow models serve --env-manager local` from the same
registry, and every request (all four JSON formats, CSV, params, and malformed input) must get the same
status and the same body from both (error bodies compared without their stack traces, which name files).
Then the gate, alias re-routing, a worker that dies, the memory limit, the worker's environment, the
generated OpenAPI documents (validated, and every example in them invoked), LRU eviction and idle stops.

Runs in the sqlite/local and postgresql/s3 passes (both backends, both artifact stores), not all four.
"""
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

import pytest
import requests

from conftest import ROOT, _free_port, own_harvester

STORE = bool(os.environ.get("HARVESTER_COMPAT_STORE_URI"))
ARTS = bool(os.environ.get("HARVESTER_COMPAT_ARTIFACTS"))
pytestmark = pytest.mark.skipif(STORE != ARTS, reason="serving runs in the sqlite/local and postgresql/s3 passes")

SCALE = '''
import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class Scale(PythonModel):
    def load_context(self, context):
        self.k = (context.model_config or {{}}).get("k", {k})

    def predict(self, context, model_input, params=None):
        k = (params or {{}}).get("k", self.k)
        return pd.DataFrame({{"y": model_input["x"] * k, "label": model_input["name"].str.upper()}})


mlflow.models.set_model(Scale())
'''

PROBE = '''
import json
import os
import resource

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


def environment():
    try:
        with open(f"/proc/{os.getppid()}/environ", "rb") as f:
            parent = f.read().decode("utf-8", "replace")
    except OSError as e:
        parent = f"refused: {e.__class__.__name__}"
    return json.dumps({"env": dict(os.environ), "parent_env": parent, "cwd": os.getcwd(),
                       "rlimit_as": resource.getrlimit(resource.RLIMIT_AS)[0]})


class Probe(PythonModel):
    def predict(self, context, model_input, params=None):
        x = float(model_input["x"].iloc[0])
        if x == -1:
            os._exit(3)
        if x == -2:
            hog = bytearray(6 * 1024 * 1024 * 1024)
            return [len(hog)]
        if x == -3:
            return [environment()]
        return list(model_input["x"] + 1)


mlflow.models.set_model(Probe())
'''

FLAGGED = '''
import os

import mlflow
from mlflow.pyfunc import PythonModel


def cleanup():
    os.system("rm -rf /tmp/never-called")


class Flagged(PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


mlflow.models.set_model(Flagged())
'''


def _wait_scan(client, name, version, timeout=120):
    deadline = time.time() + timeout
    while True:
        status = client.get_model_version(name, version).tags.get("harvester.scan.status")
        if status not in (None, "pending"):
            return status
        assert time.time() < deadline, f"{name} v{version}: scan still {status}"
        time.sleep(0.2)


def _code_model(tmp, code, name, registered, **kw):
    import mlflow

    path = Path(tmp) / f"{uuid.uuid4().hex[:8]}.py"
    path.write_text(code)
    with mlflow.start_run():
        mlflow.log_metric("accuracy", 0.75)
        mlflow.pyfunc.log_model(name=name, python_model=str(path), registered_model_name=registered,
                                pip_requirements=[f"mlflow=={mlflow.__version__}"], **kw)


@pytest.fixture(scope="module")
def models(server_url, tmp_path_factory):
    """Register every model once (their scans run meanwhile); name -> columns and an example row."""
    import mlflow
    from mlflow import MlflowClient
    import pandas as pd
    from mlflow.models import infer_signature
    import sklearn
    from sklearn.linear_model import LogisticRegression

    client = MlflowClient()
    tmp = tmp_path_factory.mktemp("serving")
    suffix = uuid.uuid4().hex[:6]
    names = {k: f"serve-{k}-{suffix}" for k in ("sklearn", "code", "template", "probe", "flagged", "alias", "onnx")}
    mlflow.set_experiment(f"serving-{suffix}")

    X = pd.DataFrame({"a": [0.1, 0.9, 0.2, 0.8, 0.3], "b": [1.0, 0.0, 1.0, 0.0, 1.0], "c": [0.5, 0.5, 0.1, 0.9, 0.2]})
    y = [0, 1, 0, 1, 0]
    lr = LogisticRegression().fit(X, y)
    with mlflow.start_run():
        mlflow.log_metric("accuracy", 0.93)
        mlflow.sklearn.log_model(lr, name="model", signature=infer_signature(X, lr.predict(X)), input_example=X.head(2),
                                 registered_model_name=names["sklearn"], pip_requirements=[f"scikit-learn=={sklearn.__version__}", f"mlflow=={mlflow.__version__}"])

    df = pd.DataFrame({"x": [1.5, 2.0], "name": ["ab", "cd"]})
    out = pd.DataFrame({"y": [3.0, 4.0], "label": ["AB", "CD"]})
    _code_model(tmp, SCALE.format(k=2), "model", names["code"], input_example=df,
                signature=infer_signature(df, out, params={"k": 2}))
    for k in (1, 5):  # two versions of one model, for the alias
        _code_model(tmp, SCALE.format(k=k), "model", names["alias"], input_example=df,
                    signature=infer_signature(df, out))
    probe_in = pd.DataFrame({"x": [1.0]})
    _code_model(tmp, PROBE, "model", names["probe"], signature=infer_signature(probe_in), input_example=probe_in)
    _code_model(tmp, FLAGGED, "model", names["flagged"], signature=infer_signature(probe_in), input_example=probe_in)

    # An ONNX model (a logistic score on three columns), built with onnx's own helpers.
    import onnx
    from onnx import TensorProto, helper

    w = helper.make_tensor("w", TensorProto.FLOAT, [3, 1], [0.5, -1.25, 2.0])
    b = helper.make_tensor("b", TensorProto.FLOAT, [1], [0.1])
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["features", "w"], ["mm"]), helper.make_node("Add", ["mm", "b"], ["score"]),
         helper.make_node("Sigmoid", ["score"], ["prob"])],
        "logit", [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N", 1]),
         helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["N", 1])], [w, b])
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx_model.ir_version = 8
    for _ in range(2):  # version 2 is only ever sent valid requests (test_onnx_runs_in_process)
        with mlflow.start_run():
            mlflow.log_metric("auc", 0.81)
            mlflow.onnx.log_model(
                onnx_model, name="model", input_example=X.head(2), registered_model_name=names["onnx"],
                signature=infer_signature(X, pd.DataFrame({"score": [0.0], "prob": [0.5]})),
                pip_requirements=[f"mlflow=={mlflow.__version__}", f"onnx=={onnx.__version__}"])

    # The competition template's model, packaged by its own make_submission.py.
    binary = os.environ.get("HARVESTER_BIN", str(ROOT / "target" / "debug" / "harvester"))
    subprocess.run([binary, "template", "init", str(tmp / "tpl")], check=True, capture_output=True)
    subprocess.run([sys.executable, "make_submission.py"], cwd=tmp / "tpl", check=True, capture_output=True)
    with zipfile.ZipFile(tmp / "tpl" / "submission.zip") as z:
        z.extractall(tmp / "tpl-model")
    with mlflow.start_run() as run:
        mlflow.log_metric("leaderboard.rmse", 0.42)
        mlflow.log_artifacts(str(tmp / "tpl-model"), "model")
    mlflow.register_model(f"runs:/{run.info.run_id}/model", names["template"])

    for key, name in names.items():
        for v in client.search_model_versions(f"name = '{name}'"):
            status = _wait_scan(client, name, v.version)
            assert status == ("failed" if key == "flagged" else "passed"), (
                name, requests.get(f"{server_url}/api/harvester/v1/scans/{name}/{v.version}", timeout=30).text)
    return {
        "names": names,
        "columns": {
            "sklearn": (["a", "b", "c"], [[0.1, 1.0, 0.5], [0.9, 0.0, 0.5], [0.3, 1.0, 0.2]]),
            "code": (["x", "name"], [[1.5, "ab"], [2.0, "cd"]]),
            "template": (["x1", "x2"], [[1.0, 0.5], [2.0, -1.0], [3.5, 2.0]]),
            "onnx": (["a", "b", "c"], [[0.1, 1.0, 0.5], [0.9, 0.0, 0.5], [0.3, 1, 0.2]]),
        },
    }


class StockServer:
    """`mlflow models serve --env-manager local` on a registry URI of the Harvester under test."""

    def __init__(self, server_url, uri):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="stock-serve-", suffix=".log", delete=False)
        # Its uvicorn is a script of this venv.
        path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
        env = dict(os.environ, MLFLOW_TRACKING_URI=server_url, PATH=path)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "models", "serve", "-m", uri, "--env-manager", "local",
             "-h", "127.0.0.1", "-p", str(self.port)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def __enter__(self):
        deadline = time.time() + 180
        while time.time() < deadline:
            assert self.proc.poll() is None, Path(self.log.name).read_text()
            try:
                if requests.get(self.url + "/ping", timeout=2).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        raise AssertionError("mlflow models serve did not start:\n" + Path(self.log.name).read_text())

    def __exit__(self, *exc):
        os.killpg(self.proc.pid, 15)
        self.proc.wait(timeout=30)


def _requests_for(columns, rows):
    """Every input format, params and malformed input, as (content type, body)."""
    records = [dict(zip(columns, r)) for r in rows]
    columnar = {c: [r[i] for r in rows] for i, c in enumerate(columns)}
    csv = ",".join(columns) + "\n" + "\n".join(",".join(str(v) for v in r) for r in rows) + "\n"
    j = "application/json"
    return [
        (j, json.dumps({"dataframe_split": {"columns": columns, "data": rows}})),
        (j, json.dumps({"dataframe_records": records})),
        (j, json.dumps({"instances": records})),
        (j, json.dumps({"inputs": columnar})),
        (j, json.dumps({"inputs": records})),
        (j + "; charset=utf-8", json.dumps({"dataframe_records": records[:1]})),
        ("text/csv", csv),
        (j, json.dumps({"dataframe_split": {"columns": columns[:-1], "data": [r[:-1] for r in rows]}})),
        (j, json.dumps({"dataframe_split": {"columns": columns, "data": rows}, "instances": records})),
        (j, json.dumps({"dataframe_records": records, "params": {"k": 3}})),
        (j, json.dumps({"dataframe_records": records, "params": {"k": "three"}})),
        (j, "not json"),
        (j, "[1, 2]"),
        (j, "{}"),
        (j + "; charset=latin-1", json.dumps({"dataframe_records": records})),
        ("text/plain", "x"),
        ("text/csv", "a,b\n\"unterminated\n"),
    ]


def _sorted_sets(text):
    """Python prints a set in hash order, which differs between processes: sort the set literals."""
    return re.sub(r"\{('[^']*'(?:, '[^']*')*)\}", lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", text)


def _close(a, b):
    """Equal, floats within 1e-6 relative."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b, rel=1e-6)
    return a == b


def _answer(resp):
    try:
        body = resp.json()
    except ValueError:
        return resp.status_code, resp.text
    if isinstance(body, dict):
        body.pop("stack_trace", None)
        if isinstance(body.get("message"), str):
            body["message"] = _sorted_sets(body["message"])
    return resp.status_code, body


@pytest.mark.parametrize("kind", ["sklearn", "code", "template", "onnx"])
def test_answers_equal_mlflow_models_serve(server_url, models, kind):
    name = models["names"][kind]
    columns, rows = models["columns"][kind]
    with StockServer(server_url, f"models:/{name}/1") as stock:
        for ct, body in _requests_for(columns, rows):
            ours = requests.post(f"{server_url}/serving/{name}/1/invocations", data=body,
                                 headers={"Content-Type": ct}, timeout=120)
            theirs = requests.post(f"{stock.url}/invocations", data=body, headers={"Content-Type": ct}, timeout=120)
            if kind == "onnx" and ours.status_code == 200:
                # tract and onnxruntime round float32 transcendental ops (Sigmoid) differently, by an ulp.
                assert _close(_answer(ours)[1], _answer(theirs)[1]), (kind, ct, body, ours.text, theirs.text)
            else:
                assert _answer(ours) == _answer(theirs), (kind, ct, body)
            assert ours.headers["Content-Type"].split(";")[0] == theirs.headers["Content-Type"].split(";")[0]
        assert requests.get(f"{server_url}/serving/{name}/1/ping", timeout=60).status_code == 200
        assert requests.get(f"{server_url}/serving/{name}/latest/ping", timeout=60).status_code == 200


def test_onnx_runs_in_process(server_url, models):
    """Valid requests to the ONNX model are answered in the server (tract): no worker is started for them;
    columns in another order are answered as stock answers them."""
    name = models["names"]["onnx"]
    url = f"{server_url}/serving/{name}/2/invocations"
    workers = lambda: [(w["name"], w["version"]) for w in requests.get(f"{server_url}/serving/workers.json", timeout=10).json()["workers"]]  # noqa: E731
    for body in ({"dataframe_split": {"columns": ["c", "a", "b"], "data": [[0.5, 0.1, 1.0]]}},
                 {"dataframe_records": [{"a": 0.9, "b": 0, "c": 0.5}] * 3}):
        r = requests.post(url, json=body, timeout=60)
        assert r.status_code == 200, r.text
    assert requests.get(f"{server_url}/serving/{name}/2/ping", timeout=60).status_code == 200
    assert (name, "2") not in workers()
    p = requests.post(url, json={"dataframe_split": {"columns": ["c", "a", "b"], "data": [[0.5, 0.1, 1.0]]}}, timeout=60).json()
    assert p["predictions"][0]["score"] == pytest.approx(0.5 * 0.1 - 1.25 * 1.0 + 2.0 * 0.5 + 0.1, rel=1e-6)


def test_concurrent_requests_are_batched_and_answered_alike(server_url, models):
    """Concurrent requests (merged into batches by the worker) get exactly the answers single ones get."""
    from concurrent.futures import ThreadPoolExecutor

    name = models["names"]["sklearn"]
    url = f"{server_url}/serving/{name}/1/invocations"
    bodies = [{"dataframe_split": {"columns": ["a", "b", "c"], "data": [[i / 50, (i % 2) * 1.0, 0.5]] * (1 + i % 3)}}
              for i in range(60)]
    singles = [requests.post(url, json=b, timeout=60).json() for b in bodies[:10]]
    with ThreadPoolExecutor(16) as pool:
        merged = list(pool.map(lambda b: requests.post(url, json=b, timeout=60), bodies))
    assert all(r.status_code == 200 for r in merged)
    assert [r.json() for r in merged[:10]] == singles
    assert [len(r.json()["predictions"]) for r in merged] == [1 + i % 3 for i in range(60)]


def test_a_failed_scan_is_refused_until_an_override(server_url, client, models):
    name = models["names"]["flagged"]
    assert client.get_model_version(name, "1").tags["harvester.scan.status"] == "failed"
    body = {"dataframe_split": {"columns": ["x"], "data": [[1.0]]}}
    r = requests.post(f"{server_url}/serving/{name}/1/invocations", json=body, timeout=30)
    assert r.status_code == 403
    assert r.json()["error_code"] == "PERMISSION_DENIED"
    assert "'failed'" in r.json()["message"] and f"/api/harvester/v1/scans/{name}/1" in r.json()["message"]
    assert requests.get(f"{server_url}/serving/{name}/1/openapi.json", timeout=30).status_code == 403
    o = requests.post(f"{server_url}/api/harvester/v1/scans/{name}/1/override",
                      json={"status": "passed", "reason": "cleanup() is never called"}, timeout=30)
    assert o.status_code == 200, o.text
    r = requests.post(f"{server_url}/serving/{name}/1/invocations", json=body, timeout=120)
    assert r.status_code == 200 and r.json() == {"predictions": [{"x": 1.0}]}


def test_moving_an_alias_reroutes(server_url, client, models):
    name = models["names"]["alias"]
    body = {"dataframe_records": [{"x": 2.0, "name": "q"}]}
    url = f"{server_url}/serving/{name}/@champion/invocations"
    client.set_registered_model_alias(name, "champion", "1")
    r = requests.post(url, json=body, timeout=120)
    assert r.headers["X-Harvester-Model-Version"] == "1" and r.json()["predictions"][0]["y"] == 2.0
    client.set_registered_model_alias(name, "champion", "2")
    r = requests.post(url, json=body, timeout=120)
    assert r.headers["X-Harvester-Model-Version"] == "2" and r.json()["predictions"][0]["y"] == 10.0
    client.transition_model_version_stage(name, "1", "Production")
    r = requests.post(f"{server_url}/serving/{name}/Production/invocations", json=body, timeout=120)
    assert r.headers["X-Harvester-Model-Version"] == "1"
    r = requests.post(f"{server_url}/serving/{name}/@nobody/invocations", json=body, timeout=30)
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    r = requests.post(f"{server_url}/serving/{name}/Staging/invocations", json=body, timeout=30)
    assert r.status_code == 404


def test_worker_crash_memory_limit_and_environment(server_url, models):
    name = models["names"]["probe"]
    url = f"{server_url}/serving/{name}/1/invocations"

    def call(x):
        return requests.post(url, json={"dataframe_split": {"columns": ["x"], "data": [[x]]}}, timeout=120)

    assert call(1.0).json() == {"predictions": [2.0]}
    crashed = call(-1)
    assert 500 <= crashed.status_code < 600
    assert "exited with status 3" in crashed.json()["message"]
    assert call(2.0).json() == {"predictions": [3.0]}  # restarted
    hog = call(-2)  # 6 GiB is past the 4 GiB address-space limit: MemoryError inside the model
    assert hog.status_code == 400 and "MemoryError" in hog.json()["stack_trace"]
    assert call(3.0).json() == {"predictions": [4.0]}
    probe = json.loads(call(-3).json()["predictions"][0])
    env = probe["env"]
    assert not [k for k in env if k.startswith(("AWS_", "MLFLOW_BACKEND", "MLFLOW_S3", "HARVESTER_"))], env
    assert "compat-test-key" not in json.dumps(env)  # the webhook encryption key the server has
    assert probe["parent_env"].startswith("refused"), probe["parent_env"][:200]
    assert probe["rlimit_as"] == 4096 * 1024 * 1024
    assert probe["cwd"] == env["HOME"] and probe["cwd"].startswith(tempfile.gettempdir())


def test_openapi_documents_validate_and_their_examples_work(server_url, models):
    from openapi_spec_validator import validate

    for kind in ("sklearn", "code", "template", "probe"):
        name = models["names"][kind]
        doc = requests.get(f"{server_url}/serving/{name}/1/openapi.json", timeout=60).json()
        validate(doc)
        (path, item), = [(p, i) for p, i in doc["paths"].items() if p.endswith("/invocations")]
        examples = item["post"]["requestBody"]["content"]["application/json"]["examples"]
        assert len(examples) >= 4, (kind, examples.keys())
        for ex_name, ex in examples.items():
            r = requests.post(server_url + path, json=ex["value"], timeout=120)
            assert r.status_code == 200, (kind, ex_name, ex["value"], r.text)
        assert doc["info"]["x-harvester"]["metrics"], doc["info"]
    sk = requests.get(f"{server_url}/serving/{models['names']['sklearn']}/1/openapi.json", timeout=60).json()
    body = sk["paths"][f"/serving/{models['names']['sklearn']}/1/invocations"]["post"]["requestBody"]
    split = next(s for s in body["content"]["application/json"]["schema"]["oneOf"] if s["title"] == "dataframe_split")
    assert split["properties"]["dataframe_split"]["properties"]["columns"]["items"]["enum"] == ["a", "b", "c"]
    code = requests.get(f"{server_url}/serving/{models['names']['code']}/1/openapi.json", timeout=60).json()
    one = code["paths"][f"/serving/{models['names']['code']}/1/invocations"]["post"]["requestBody"]
    params = one["content"]["application/json"]["schema"]["oneOf"][0]["properties"]["params"]
    assert params["properties"]["k"]["default"] == 2
    index = requests.get(f"{server_url}/serving/openapi.json", timeout=60).json()
    validate(index)
    listed = {(m["name"], m["version"]) for m in index["x-harvester-models"]}
    assert {(models["names"][k], "1") for k in ("sklearn", "code", "template", "probe")} <= listed
    page = requests.get(f"{server_url}/serving/", timeout=60)
    assert page.status_code == 200 and models["names"]["sklearn"] in page.text


@contextlib.contextmanager
def _own_server(tmp_path, *flags):
    """A Harvester of its own on the postgresql pass's shared database (and artifacts), with `flags`."""
    store = os.environ.get("HARVESTER_COMPAT_STORE_URI")
    if not store:
        pytest.skip("needs the shared database of the postgresql pass")
    with own_harvester(tmp_path, *flags, store=store) as url:
        yield url


def test_lru_eviction_and_idle_stop(tmp_path, models, server_url):
    """A server of its own with one worker slot and a 2 s idle timeout, on the same registry; its
    Prometheus metrics count each model's invocations by version and status, and its running workers."""
    from test_prometheus import scrape, value

    with _own_server(tmp_path, "--serving-max-workers", "1", "--serving-idle-timeout", "2",
                     "--expose-prometheus", str(tmp_path / "prom")) as url:
        workers = lambda: [(w["name"], w["version"]) for w in requests.get(url + "/serving/workers.json", timeout=10).json()["workers"]]  # noqa: E731
        a, b = models["names"]["code"], models["names"]["alias"]
        body = {"dataframe_records": [{"x": 1.0, "name": "z"}]}
        assert requests.post(f"{url}/serving/{a}/1/invocations", json=body, timeout=120).status_code == 200
        assert workers() == [(a, "1")]
        assert requests.post(f"{url}/serving/{b}/2/invocations", json=body, timeout=120).status_code == 200
        assert requests.post(f"{url}/serving/{b}/2/invocations", json={"nope": 1}, timeout=120).status_code == 400
        assert workers() == [(b, "2")]  # the least recently used one was stopped
        m = scrape(url)
        latency = "harvester_serving_request_duration_seconds"
        count = lambda **k: sum(s.value for s in m[latency].samples  # noqa: E731
                                if s.name.endswith("_count") and all(s.labels.get(x) == y for x, y in k.items()))
        assert count(model=a, version="1", status="200") == 1
        assert count(model=b, version="2", status="200") == 1 and count(model=b, version="2", status="400") == 1
        assert value(m, "harvester_serving_workers", model=b) == 1 and value(m, "harvester_serving_workers", model=a) == 0
        time.sleep(4)
        assert workers() == []  # idle past --serving-idle-timeout
        assert value(scrape(url), "harvester_serving_workers", model=b) == 0


def test_virtualenv_env_manager_builds_the_models_own_environment(tmp_path, models, server_url):
    """`--serving-env-manager virtualenv`: a venv built from the model's requirements.txt (wheels only),
    cached by hash, answers as the shared interpreter does. One build (about a minute): postgresql pass only."""
    with _own_server(tmp_path, "--serving-env-manager", "virtualenv", "--serving-dir", str(tmp_path / "serving"),
                     "--serving-start-timeout", "900") as url:
        name = models["names"]["code"]
        body = {"dataframe_records": [{"x": 1.5, "name": "ab"}], "params": {"k": 4}}
        ours = requests.post(f"{url}/serving/{name}/1/invocations", json=body, timeout=900)
        assert ours.status_code == 200, ours.text + (tmp_path / "log").read_text()[-3000:]
        shared = requests.post(f"{server_url}/serving/{name}/1/invocations", json=body, timeout=120)
        assert ours.json() == shared.json() == {"predictions": [{"y": 6.0, "label": "AB"}]}
        envs = list((tmp_path / "serving" / "envs").iterdir())
        assert len(envs) == 1 and (envs[0] / ".harvester-ready").is_file()
        assert (envs[0] / "bin" / "python").exists()
